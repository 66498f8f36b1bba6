//! The endpoint calls of the JSON host protocol, typed: a method name and a JSON object of
//! arguments are read once into a [`Request`] (one variant per method, each with its own
//! argument struct in [`args`]), then [`Request::run`] calls the [`Client`].
//!
//! Every argument error is an [`Error::Validation`] naming the argument: a missing required
//! argument, a wrong type, a number out of range for its type (no truncation), a value that
//! does not parse (a date, a lookup name) and an argument the method does not take. An absent
//! or `null` optional argument takes the default documented on its field.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::to_json;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::models::{self, Case, Lookup, NewPerson, Person, SafeDateTime, SearchRequest, User};

/// One argument value read from JSON; its error names the argument.
trait Arg: Sized {
    fn from_arg(name: &str, value: Value) -> Result<Self>;
}

fn serde_arg<T: DeserializeOwned>(name: &str, value: Value) -> Result<T> {
    serde_json::from_value(value)
        .map_err(|e| Error::validation(name, format!("invalid argument: {e}")))
}

/// Arguments read as their serde form (numbers are range-checked by serde: `2^32` is not a
/// `u32`, `-1` not a `u64`, `1.5` not an integer).
macro_rules! serde_args {
    ($($t:ty),* $(,)?) => {
        $(impl Arg for $t {
            fn from_arg(name: &str, value: Value) -> Result<Self> {
                serde_arg(name, value)
            }
        })*
    };
}

serde_args!(
    u32,
    u64,
    i64,
    String,
    Case,
    NewPerson,
    Person,
    User,
    SearchRequest
);

/// An ISO-8601 text that parses (the raw text is kept).
impl Arg for SafeDateTime {
    fn from_arg(name: &str, value: Value) -> Result<Self> {
        let date = SafeDateTime::parse(serde_arg::<String>(name, value)?);
        if date.utc().is_none() {
            return Err(Error::validation(name, "not an ISO-8601 date"));
        }
        Ok(date)
    }
}

/// A lookup list by its name (see [`Lookup::from_name`]).
impl Arg for Lookup {
    fn from_arg(name: &str, value: Value) -> Result<Self> {
        let text: String = serde_arg(name, value)?;
        Lookup::from_name(&text)
            .ok_or_else(|| Error::validation(name, format!("unknown lookup `{text}`")))
    }
}

/// The arguments of one call, taken one by one; what is left at the end was not expected.
struct Args<'a> {
    method: &'a str,
    map: Map<String, Value>,
}

impl<'a> Args<'a> {
    /// A JSON object; `null` is read as no arguments.
    fn new(method: &'a str, args: &Value) -> Result<Args<'a>> {
        let map = match args {
            Value::Object(m) => m.clone(),
            Value::Null => Map::new(),
            _ => {
                return Err(Error::validation(
                    "args",
                    "the arguments must be a JSON object",
                ));
            }
        };
        Ok(Args { method, map })
    }

    fn required<T: Arg>(&mut self, name: &str) -> Result<T> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Err(Error::validation(name, "missing argument")),
            Some(v) => T::from_arg(name, v),
        }
    }

    fn optional<T: Arg>(&mut self, name: &str) -> Result<Option<T>> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => T::from_arg(name, v).map(Some),
        }
    }

    fn finish(self) -> Result<()> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(k) => Err(Error::validation(
                k.as_str(),
                format!("unknown argument `{k}` of `{}`", self.method),
            )),
        }
    }
}

macro_rules! take_arg {
    ($args:ident, $field:ident) => {
        $args.required(stringify!($field))?
    };
    ($args:ident, $field:ident, $default:expr) => {
        $args
            .optional(stringify!($field))?
            .unwrap_or_else(|| $default)
    };
}

/// Declares every method once: its name, its variant of [`Request`] and its argument struct
/// (a field per argument; `= default` marks an optional one). [`Request::METHODS`], the
/// parser and [`Request::method`] all come from this one list.
macro_rules! requests {
    ($(
        $(#[doc = $doc:literal])+
        $method:literal => $variant:ident {
            $(
                $(#[doc = $fdoc:literal])+
                $field:ident : $ty:ty $(= $default:expr)?
            ),* $(,)?
        }
    )*) => {
        /// The argument struct of each [`Request`] variant (same name), one field per JSON
        /// argument (same name).
        pub mod args {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[doc = concat!("The arguments of `", $method, "`.")]
                #[doc = ""]
                $(#[doc = $doc])+
                #[derive(Debug, Clone, PartialEq)]
                pub struct $variant {
                    $(
                        $(#[doc = $fdoc])+
                        pub $field: $ty,
                    )*
                }

                impl $variant {
                    /// The argument names.
                    pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];

                    #[allow(unused_variables)]
                    pub(super) fn take(args: &mut Args<'_>) -> Result<$variant> {
                        Ok($variant {
                            $($field: take_arg!(args, $field $(, $default)?),)*
                        })
                    }
                }
            )*
        }

        /// One endpoint call of the host protocol with its typed arguments.
        // A request lives for one call: boxing the larger models would buy nothing.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq)]
        pub enum Request {
            $(
                #[doc = concat!("`", $method, "`: ")]
                $(#[doc = $doc])+
                $variant(args::$variant),
            )*
        }

        impl Request {
            /// Every method name, in declaration order.
            pub const METHODS: [&'static str; [$($method),*].len()] = [$($method),*];

            /// The method name of this request.
            pub fn method(&self) -> &'static str {
                match self {
                    $(Request::$variant(_) => $method,)*
                }
            }

            /// The argument names `method` takes, or `None` for an unknown method.
            pub fn arg_names(method: &str) -> Option<&'static [&'static str]> {
                match method {
                    $($method => Some(args::$variant::NAMES),)*
                    _ => None,
                }
            }

            /// Reads `method` and its JSON `args` (an object, or `null` for none).
            pub fn parse(method: &str, args: &Value) -> Result<Request> {
                let take: fn(&mut Args<'_>) -> Result<Request> = match method {
                    $($method => |a| Ok(Request::$variant(args::$variant::take(a)?)),)*
                    other => {
                        return Err(Error::validation(
                            "method",
                            format!("unknown method `{other}`"),
                        ));
                    }
                };
                let mut a = Args::new(method, args)?;
                let request = take(&mut a)?;
                a.finish()?;
                Ok(request)
            }
        }
    };
}

requests! {
    /// The item holding a sequential org id (`null` for the blank answer).
    "item_by_seq" => ItemBySeq {
        /// The sequential org id.
        seq: u64,
    }
    /// Every item holding a sequential org id.
    "items_by_seq" => ItemsBySeq {
        /// The sequential org id.
        seq: u64,
    }
    /// One item by id.
    "item" => Item {
        /// The item id.
        id: i64,
    }
    /// An item's custom form data.
    "item_form_data" => ItemFormData {
        /// The item id.
        id: i64,
    }
    /// An item's chain of custody.
    "chain_of_custody" => ChainOfCustody {
        /// The item id.
        id: i64,
    }
    /// One page of an item search.
    "search_items" => SearchItems {
        /// The search (wire form).
        request: models::SearchRequest,
    }
    /// Items whose sequential org id is greater than `seq`, ascending.
    "items_after_seq" => ItemsAfterSeq {
        /// The sequential org id to start after.
        seq: u64,
        /// Page size; absent or `null`: 100.
        page_size: u32 = 100,
    }
    /// One page of items changed after `since`.
    "updated_items" => UpdatedItems {
        /// ISO-8601 date; one that does not parse is refused.
        since: models::SafeDateTime,
        /// Page number, from 1; absent or `null`: 1.
        page: u32 = 1,
        /// Page size; absent or `null`: 100.
        page_size: u32 = 100,
    }
    /// One case by id.
    "case" => Case {
        /// The case id.
        id: i64,
    }
    /// One case by its case number.
    "case_by_number" => CaseByNumber {
        /// The case number.
        number: String,
    }
    /// The people of a case.
    "case_people" => CasePeople {
        /// The case id.
        id: i64,
    }
    /// Creates a case.
    "create_case" => CreateCase {
        /// The case (wire form).
        case: models::Case,
    }
    /// Updates a case.
    "update_case" => UpdateCase {
        /// The case id.
        id: i64,
        /// The case (wire form).
        case: models::Case,
    }
    /// One person by id.
    "person" => Person {
        /// The person id.
        id: i64,
    }
    /// Creates a person.
    "create_person" => CreatePerson {
        /// The person and address (wire form).
        person: models::NewPerson,
    }
    /// Updates a person.
    "update_person" => UpdatePerson {
        /// The person id.
        id: i64,
        /// The person (wire form).
        person: models::Person,
    }
    /// People matching a search text.
    "people_typeahead" => PeopleTypeahead {
        /// The search text.
        search: String,
    }
    /// Whether a person already uses an email address.
    "email_in_use" => EmailInUse {
        /// The email address.
        email: String,
    }
    /// One user by id.
    "user" => User {
        /// The user id.
        id: i64,
    }
    /// Creates a user.
    "create_user" => CreateUser {
        /// The user (wire form).
        user: models::User,
    }
    /// Updates a user.
    "update_user" => UpdateUser {
        /// The user id.
        id: i64,
        /// The user (wire form).
        user: models::User,
    }
    /// Users matching a search text.
    "users_typeahead" => UsersTypeahead {
        /// The search text.
        search: String,
    }
    /// A lookup list.
    "lookup" => Lookup {
        /// Its name: `races`, `genders`, `address_types`, `states`, `person_types`,
        /// `offense_types` or `categories` (`-` for `_` and any case accepted).
        name: models::Lookup,
    }
    /// The custom forms of a type.
    "forms" => Forms {
        /// `All`, `Cases`, `Items` or `People` (checked by the client); absent or `null`:
        /// `All`.
        form_type: String = String::from("All"),
    }
    /// Requests sent so far by this client (every attempt); no request is made.
    "requests_sent" => RequestsSent {}
    /// The client's effective configuration (no secrets); no request is made.
    "config" => Config {}
}

impl Request {
    /// Calls the endpoint and returns its answer as JSON.
    pub async fn run(self, client: &Client) -> Result<Value> {
        match self {
            Request::ItemBySeq(a) => to_json(client.item_by_seq(a.seq).await?),
            Request::ItemsBySeq(a) => to_json(client.items_by_seq(a.seq).await?),
            Request::Item(a) => to_json(client.item(a.id).await?),
            Request::ItemFormData(a) => to_json(client.item_form_data(a.id).await?),
            Request::ChainOfCustody(a) => to_json(client.chain_of_custody(a.id).await?),
            Request::SearchItems(a) => to_json(client.search_items(&a.request).await?),
            Request::ItemsAfterSeq(a) => to_json(client.items_after_seq(a.seq, a.page_size).await?),
            Request::UpdatedItems(a) => {
                to_json(client.updated_items(&a.since, a.page, a.page_size).await?)
            }
            Request::Case(a) => to_json(client.case(a.id).await?),
            Request::CaseByNumber(a) => to_json(client.case_by_number(&a.number).await?),
            Request::CasePeople(a) => to_json(client.case_people(a.id).await?),
            Request::CreateCase(a) => to_json(client.create_case(&a.case).await?),
            Request::UpdateCase(a) => to_json(client.update_case(a.id, &a.case).await?),
            Request::Person(a) => to_json(client.person(a.id).await?),
            Request::CreatePerson(a) => to_json(client.create_person(&a.person).await?),
            Request::UpdatePerson(a) => to_json(client.update_person(a.id, &a.person).await?),
            Request::PeopleTypeahead(a) => to_json(client.people_typeahead(&a.search).await?),
            Request::EmailInUse(a) => to_json(client.email_in_use(&a.email).await?),
            Request::User(a) => to_json(client.user(a.id).await?),
            Request::CreateUser(a) => to_json(client.create_user(&a.user).await?),
            Request::UpdateUser(a) => to_json(client.update_user(a.id, &a.user).await?),
            Request::UsersTypeahead(a) => to_json(client.users_typeahead(&a.search).await?),
            Request::Lookup(a) => to_json(client.lookup(a.name).await?),
            Request::Forms(a) => to_json(client.forms(&a.form_type).await?),
            Request::RequestsSent(_) => Ok(json!(client.requests_sent())),
            Request::Config(_) => {
                let c = client.config();
                Ok(json!({
                    "base_url": c.base_url.as_str(),
                    "organization_id": c.credentials.organization_id,
                    "office_id": c.credentials.office_id,
                    "user_agent": c.user_agent(),
                    "requests_per_second": c.pacing.requests_per_second,
                    "max_attempts": c.retry.max_attempts,
                }))
            }
        }
    }
}

/// Every method [`call`] accepts (the same list as [`Request::METHODS`]).
pub const METHODS: [&str; Request::METHODS.len()] = Request::METHODS;

/// Calls endpoint `method` with JSON `args` (an object) and returns its answer as JSON: reads
/// a [`Request`] (argument errors before any request) and runs it.
pub async fn call(client: &Client, method: &str, args: &Value) -> Result<Value> {
    Request::parse(method, args)?.run(client).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn parse(method: &str, args: Value) -> Result<Request> {
        Request::parse(method, &args)
    }

    /// The validation error of `method(args)`: its field and message.
    fn refused(method: &str, args: Value) -> (String, String) {
        match parse(method, args.clone()) {
            Err(Error::Validation { field, message, .. }) => (field.unwrap_or_default(), message),
            other => panic!("{method} {args}: expected a validation error, got {other:?}"),
        }
    }

    fn model<T: DeserializeOwned>(v: &Value) -> T {
        serde_json::from_value(v.clone()).unwrap()
    }

    /// One valid call of every method, with every argument given, and what it reads as.
    fn every_method() -> Vec<(&'static str, Value, Request)> {
        let search = serde_json::to_value(SearchRequest::seq_greater_than(5, vec![2], 10)).unwrap();
        let case =
            json!({"caseNumber": "X-1", "caseOfficerIds": [1], "offenseTypeId": 4, "active": true});
        let new_person =
            json!({"person": {"firstName": "A", "lastName": "B"}, "address": {"line1": "x"}});
        let person = json!({"id": 5, "firstName": "A", "lastName": "B"});
        let user = json!({"firstName": "A", "email": "a@b.org"});
        let since = "2024-05-01T10:00:00Z";
        vec![
            (
                "item_by_seq",
                json!({"seq": 7}),
                Request::ItemBySeq(args::ItemBySeq { seq: 7 }),
            ),
            (
                "items_by_seq",
                json!({"seq": 7}),
                Request::ItemsBySeq(args::ItemsBySeq { seq: 7 }),
            ),
            (
                "item",
                json!({"id": -3}),
                Request::Item(args::Item { id: -3 }),
            ),
            (
                "item_form_data",
                json!({"id": 3}),
                Request::ItemFormData(args::ItemFormData { id: 3 }),
            ),
            (
                "chain_of_custody",
                json!({"id": 3}),
                Request::ChainOfCustody(args::ChainOfCustody { id: 3 }),
            ),
            (
                "search_items",
                json!({"request": search}),
                Request::SearchItems(args::SearchItems {
                    request: model(&search),
                }),
            ),
            (
                "items_after_seq",
                json!({"seq": 7, "page_size": 50}),
                Request::ItemsAfterSeq(args::ItemsAfterSeq {
                    seq: 7,
                    page_size: 50,
                }),
            ),
            (
                "updated_items",
                json!({"since": since, "page": 2, "page_size": 50}),
                Request::UpdatedItems(args::UpdatedItems {
                    since: SafeDateTime::parse(since),
                    page: 2,
                    page_size: 50,
                }),
            ),
            (
                "case",
                json!({"id": 9}),
                Request::Case(args::Case { id: 9 }),
            ),
            (
                "case_by_number",
                json!({"number": "X-1"}),
                Request::CaseByNumber(args::CaseByNumber {
                    number: "X-1".into(),
                }),
            ),
            (
                "case_people",
                json!({"id": 9}),
                Request::CasePeople(args::CasePeople { id: 9 }),
            ),
            (
                "create_case",
                json!({"case": case}),
                Request::CreateCase(args::CreateCase { case: model(&case) }),
            ),
            (
                "update_case",
                json!({"id": 9, "case": case}),
                Request::UpdateCase(args::UpdateCase {
                    id: 9,
                    case: model(&case),
                }),
            ),
            (
                "person",
                json!({"id": 5}),
                Request::Person(args::Person { id: 5 }),
            ),
            (
                "create_person",
                json!({"person": new_person}),
                Request::CreatePerson(args::CreatePerson {
                    person: model(&new_person),
                }),
            ),
            (
                "update_person",
                json!({"id": 5, "person": person}),
                Request::UpdatePerson(args::UpdatePerson {
                    id: 5,
                    person: model(&person),
                }),
            ),
            (
                "people_typeahead",
                json!({"search": "Dan"}),
                Request::PeopleTypeahead(args::PeopleTypeahead {
                    search: "Dan".into(),
                }),
            ),
            (
                "email_in_use",
                json!({"email": "a@b.org"}),
                Request::EmailInUse(args::EmailInUse {
                    email: "a@b.org".into(),
                }),
            ),
            (
                "user",
                json!({"id": 4}),
                Request::User(args::User { id: 4 }),
            ),
            (
                "create_user",
                json!({"user": user}),
                Request::CreateUser(args::CreateUser { user: model(&user) }),
            ),
            (
                "update_user",
                json!({"id": 4, "user": user}),
                Request::UpdateUser(args::UpdateUser {
                    id: 4,
                    user: model(&user),
                }),
            ),
            (
                "users_typeahead",
                json!({"search": "Dan"}),
                Request::UsersTypeahead(args::UsersTypeahead {
                    search: "Dan".into(),
                }),
            ),
            (
                "lookup",
                json!({"name": "address-types"}),
                Request::Lookup(args::Lookup {
                    name: Lookup::AddressTypes,
                }),
            ),
            (
                "forms",
                json!({"form_type": "Items"}),
                Request::Forms(args::Forms {
                    form_type: "Items".into(),
                }),
            ),
            (
                "requests_sent",
                json!({}),
                Request::RequestsSent(args::RequestsSent {}),
            ),
            ("config", json!({}), Request::Config(args::Config {})),
        ]
    }

    #[test]
    fn every_method_parses_with_its_documented_arguments() {
        let cases = every_method();
        let tested: Vec<&str> = cases.iter().map(|(m, _, _)| *m).collect();
        assert_eq!(
            tested,
            Request::METHODS,
            "one case per method, in declaration order"
        );
        assert_eq!(METHODS, Request::METHODS);
        for (method, args, want) in cases {
            let got =
                parse(method, args.clone()).unwrap_or_else(|e| panic!("{method} {args}: {e}"));
            assert_eq!(got, want, "{method}");
            assert_eq!(got.method(), method);
            // The test gives every argument the method takes, and nothing else.
            let names = Request::arg_names(method).unwrap();
            let mut given: Vec<&str> = args
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let mut names = names.to_vec();
            given.sort_unstable();
            names.sort_unstable();
            assert_eq!(given, names, "{method}");
        }
        assert_eq!(Request::arg_names("nope"), None);
    }

    #[test]
    fn a_wrongly_typed_argument_is_a_validation_error_naming_it() {
        for (method, args, _) in every_method() {
            for name in Request::arg_names(method).unwrap() {
                for wrong in [json!([true]), json!(false)] {
                    let mut bad = args.clone();
                    bad[*name] = wrong.clone();
                    let (field, message) = refused(method, bad);
                    assert_eq!(field, *name, "{method}.{name} = {wrong}");
                    assert!(
                        message.starts_with("invalid argument"),
                        "{method}.{name}: {message}"
                    );
                }
            }
        }
        // Optional arguments too: a wrong type is never read as "absent".
        let (field, _) = refused("items_after_seq", json!({"seq": 1, "page_size": "10"}));
        assert_eq!(field, "page_size");
        let (field, _) = refused("forms", json!({"form_type": 5}));
        assert_eq!(field, "form_type");
        let (field, _) = refused(
            "updated_items",
            json!({"since": "2024-05-01T10:00:00Z", "page": true}),
        );
        assert_eq!(field, "page");
    }

    #[test]
    fn a_number_out_of_range_is_a_validation_error_not_a_truncation() {
        let since = "2024-05-01T10:00:00Z";
        for (method, args, name) in [
            (
                "items_after_seq",
                json!({"seq": 1, "page_size": 4_294_967_296u64}),
                "page_size",
            ),
            (
                "updated_items",
                json!({"since": since, "page": 4_294_967_297u64}),
                "page",
            ),
            (
                "updated_items",
                json!({"since": since, "page_size": -1}),
                "page_size",
            ),
            ("item_by_seq", json!({"seq": -1}), "seq"),
            ("item_by_seq", json!({"seq": 1.5}), "seq"),
            (
                "items_after_seq",
                json!({"seq": 2, "page_size": 10.5}),
                "page_size",
            ),
            ("item", json!({"id": 9_223_372_036_854_775_808u64}), "id"),
            ("item", json!({"id": 1e30}), "id"),
        ] {
            let (field, message) = refused(method, args.clone());
            assert_eq!(field, name, "{method} {args}");
            assert!(message.starts_with("invalid argument"), "{message}");
        }
        // The largest values that fit are taken as they are.
        let r = parse(
            "items_after_seq",
            json!({"seq": u64::MAX, "page_size": u32::MAX}),
        )
        .unwrap();
        assert_eq!(
            r,
            Request::ItemsAfterSeq(args::ItemsAfterSeq {
                seq: u64::MAX,
                page_size: u32::MAX
            })
        );
    }

    #[test]
    fn absent_or_null_optional_arguments_take_their_documented_default() {
        let since = "2024-05-01T10:00:00Z";
        for args in [json!({"seq": 3}), json!({"seq": 3, "page_size": null})] {
            assert_eq!(
                parse("items_after_seq", args).unwrap(),
                Request::ItemsAfterSeq(args::ItemsAfterSeq {
                    seq: 3,
                    page_size: 100
                })
            );
        }
        assert_eq!(
            parse("updated_items", json!({"since": since, "page": null})).unwrap(),
            Request::UpdatedItems(args::UpdatedItems {
                since: SafeDateTime::parse(since),
                page: 1,
                page_size: 100,
            })
        );
        for args in [json!({}), json!({"form_type": null}), Value::Null] {
            assert_eq!(
                parse("forms", args).unwrap(),
                Request::Forms(args::Forms {
                    form_type: "All".into()
                })
            );
        }
    }

    #[test]
    fn missing_unknown_and_unparseable_arguments_are_named() {
        for (method, args, _) in every_method() {
            for name in Request::arg_names(method).unwrap() {
                if method == "forms" || (*name).starts_with("page") {
                    continue; // optional
                }
                for missing in [false, true] {
                    let mut bad = args.clone();
                    if missing {
                        bad.as_object_mut().unwrap().remove(*name);
                    } else {
                        bad[*name] = Value::Null;
                    }
                    let (field, message) = refused(method, bad);
                    assert_eq!(
                        (field.as_str(), message.as_str()),
                        (*name, "missing argument")
                    );
                }
            }
            let mut extra = args.clone();
            extra["pagesize"] = json!(10);
            let (field, message) = refused(method, extra);
            assert_eq!(field, "pagesize");
            assert_eq!(
                message,
                format!("unknown argument `pagesize` of `{method}`")
            );
            for not_an_object in [json!([1]), json!("seq"), json!(7)] {
                assert_eq!(refused(method, not_an_object).0, "args");
            }
        }
        let (field, message) = refused("updated_items", json!({"since": "yesterday"}));
        assert_eq!(
            (field.as_str(), message.as_str()),
            ("since", "not an ISO-8601 date")
        );
        let (field, message) = refused("lookup", json!({"name": "colours"}));
        assert_eq!(
            (field.as_str(), message.as_str()),
            ("name", "unknown lookup `colours`")
        );
        // No arguments at all: `null` or `{}`.
        assert_eq!(
            parse("config", Value::Null).unwrap(),
            Request::Config(args::Config {})
        );
    }

    #[test]
    fn an_unknown_method_is_an_error_naming_it() {
        for args in [json!({}), json!([1]), Value::Null] {
            let e = parse("no_such_method", args).unwrap_err();
            assert_eq!(e.code(), ErrorCode::Validation);
            assert_eq!(crate::host::error_info(&e).field.as_deref(), Some("method"));
            assert!(
                e.to_string().contains("unknown method `no_such_method`"),
                "{e}"
            );
        }
        // Names are exact: no case folding, no aliases.
        assert!(parse("Item", json!({"id": 1})).is_err());
        assert!(parse("item ", json!({"id": 1})).is_err());
    }
}
