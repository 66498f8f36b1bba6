// SafeTrackerClient: one async method and its blocking twin per SAFE endpoint, typed with the
// models generated from the core's schema (Generated/Models.g.cs). Every call runs in the core
// (retries, pacing, body cap, typed errors); this file only translates arguments, results,
// exceptions and cancellation.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace SafeTracker
{
    /// <summary>A SAFE client for one organisation and office. Thread-safe: share one per
    /// agency. Every endpoint has an async method (the native call runs on a thread-pool
    /// thread) and a blocking twin; a <see cref="CancellationToken"/> reaches the native call,
    /// which gives up its request (<see cref="OperationCanceledException"/>). Failures are
    /// <see cref="SafeTrackerException"/> subclasses, one per stable code.</summary>
    public sealed class SafeTrackerClient : IDisposable
    {
        readonly ClientHandle handle;

        /// <summary>A client with these settings (<see cref="InvalidConfigException"/> when they
        /// are not valid: a missing token, a plain-http remote URL…).</summary>
        public SafeTrackerClient(SafeTrackerClientOptions options) : this(options, false) { }

        SafeTrackerClient(SafeTrackerClientOptions options, bool fromEnvironment)
        {
            if (options == null) throw new ArgumentNullException("options");
            ClientConfig config = options.NativeConfig(fromEnvironment);
            try
            {
                ClientHandle h;
                SafeTrackerException.Check(Native.safe_client_new(ref config, out h));
                handle = h;
            }
            finally
            {
                SafeTrackerClientOptions.FreeConfig(config);
            }
        }

        /// <summary>A client from <c>SAFE_BASE_URL</c>, <c>SAFE_TOKEN</c>,
        /// <c>SAFE_ORGANIZATION_ID</c> and <c>SAFE_OFFICE_ID</c> (and <c>SAFE_CA_FILE</c>,
        /// <c>SAFE_REQUESTS_PER_SECOND</c>), with the settings of <paramref name="overrides"/>
        /// (null: none) applied over them.</summary>
        public static SafeTrackerClient FromEnvironment(SafeTrackerClientOptions overrides = null)
        {
            return new SafeTrackerClient(overrides ?? new SafeTrackerClientOptions(), true);
        }

        internal ClientHandle Handle { get { return handle; } }

        /// <summary>Requests sent so far (every attempt, retries included); no request.</summary>
        public long RequestsSent
        {
            get { return Call("requests_sent", new JsonObject(), Wire.Long, CancellationToken.None); }
        }

        /// <summary>The effective configuration, without the token (base_url, ids, user_agent,
        /// requests_per_second, max_attempts).</summary>
        internal JsonObject Config()
        {
            return Call("config", new JsonObject(), Wire.Object, CancellationToken.None);
        }

        /// <summary>The base URL and ids, never the token.</summary>
        public override string ToString()
        {
            JsonObject c = Config();
            return "SafeTrackerClient(BaseUrl=" + c["base_url"] + ", OrganizationId=" + c["organization_id"]
                   + ", OfficeId=" + c["office_id"] + ")";
        }

        /// <summary>Frees the native client; calls in flight finish first (the handle is
        /// reference-counted), later calls throw <see cref="ObjectDisposedException"/>.</summary>
        public void Dispose() { handle.Dispose(); }

        // ---- endpoints ----

        /// <summary>The item holding sequential org id <paramref name="seq"/>, or null for SAFE's
        /// blank answer (no item holds it yet). A number held by several items throws <see
        /// cref="DuplicateNumberException"/> (its <see cref="SafeTrackerException.Seq"/> and <see
        /// cref="SafeTrackerException.Ids"/> name them): read such a number with <see
        /// cref="GetItemsBySequenceAsync"/>.</summary>
        public Task<Item> GetItemBySequenceAsync(long seq, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "seq", "seq", seq);
            return CallAsync("item_by_seq", args, NullOr(Item.FromJson), cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetItemBySequenceAsync"/>.</summary>
        public Item GetItemBySequence(long seq, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "seq", "seq", seq);
            return Call("item_by_seq", args, NullOr(Item.FromJson), cancellationToken);
        }

        /// <summary>Every item holding sequential org id <paramref name="seq"/>, in ascending id
        /// order (items without an id last); empty for SAFE's blank answer.</summary>
        public Task<IReadOnlyList<Item>> GetItemsBySequenceAsync(long seq, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "seq", "seq", seq);
            return CallAsync("items_by_seq", args, ListOf(Item.FromJson), cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetItemsBySequenceAsync"/>.</summary>
        public IReadOnlyList<Item> GetItemsBySequence(long seq, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "seq", "seq", seq);
            return Call("items_by_seq", args, ListOf(Item.FromJson), cancellationToken);
        }

        /// <summary>The item with database id <paramref name="id"/> (<see
        /// cref="NotFoundException"/> when none).</summary>
        public Task<Item> GetItemAsync(long id, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id);
            return CallAsync("item", args, Item.FromJson, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetItemAsync"/>.</summary>
        public Item GetItem(long id, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id);
            return Call("item", args, Item.FromJson, cancellationToken);
        }

        /// <summary>The item's custom form data (each entry's <c>Data</c> keeps the raw text,
        /// decoded when it decodes).</summary>
        public Task<IReadOnlyList<FormDataEntry>> GetItemFormDataAsync(long id, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id);
            return CallAsync("item_form_data", args, ListOf(FormDataEntry.FromJson), cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetItemFormDataAsync"/>.</summary>
        public IReadOnlyList<FormDataEntry> GetItemFormData(long id, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id);
            return Call("item_form_data", args, ListOf(FormDataEntry.FromJson), cancellationToken);
        }

        /// <summary>The item's chain of custody, oldest first.</summary>
        public Task<IReadOnlyList<CustodyEntry>> GetChainOfCustodyAsync(long id, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id);
            return CallAsync("chain_of_custody", args, ListOf(CustodyEntry.FromJson), cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetChainOfCustodyAsync"/>.</summary>
        public IReadOnlyList<CustodyEntry> GetChainOfCustody(long id, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id);
            return Call("chain_of_custody", args, ListOf(CustodyEntry.FromJson), cancellationToken);
        }

        /// <summary>One page of an item search.</summary>
        public Task<SearchPage> SearchItemsAsync(SearchRequest request, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "request", "request", request);
            return CallAsync("search_items", args, SearchPage.FromJson, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="SearchItemsAsync"/>.</summary>
        public SearchPage SearchItems(SearchRequest request, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "request", "request", request);
            return Call("search_items", args, SearchPage.FromJson, cancellationToken);
        }

        /// <summary>One page of the items whose sequential org id is greater than <paramref
        /// name="seq"/>, ascending.</summary>
        public Task<SearchPage> GetItemsAfterSequenceAsync(long seq, int pageSize = 100, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "seq", "seq", seq); Arg(args, "page_size", "pageSize", pageSize);
            return CallAsync("items_after_seq", args, SearchPage.FromJson, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetItemsAfterSequenceAsync"/>.</summary>
        public SearchPage GetItemsAfterSequence(long seq, int pageSize = 100, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "seq", "seq", seq); Arg(args, "page_size", "pageSize", pageSize);
            return Call("items_after_seq", args, SearchPage.FromJson, cancellationToken);
        }

        /// <summary>One page (from 1) of the items changed after <paramref
        /// name="since"/>.</summary>
        public Task<SearchPage> GetUpdatedItemsAsync(DateTimeOffset since, int page = 1, int pageSize = 100, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "since", "since", since); Arg(args, "page", "page", page); Arg(args, "page_size", "pageSize", pageSize);
            return CallAsync("updated_items", args, SearchPage.FromJson, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetUpdatedItemsAsync"/>.</summary>
        public SearchPage GetUpdatedItems(DateTimeOffset since, int page = 1, int pageSize = 100, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "since", "since", since); Arg(args, "page", "page", page); Arg(args, "page_size", "pageSize", pageSize);
            return Call("updated_items", args, SearchPage.FromJson, cancellationToken);
        }

        /// <summary>The case with id <paramref name="id"/>.</summary>
        public Task<Case> GetCaseAsync(long id, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id);
            return CallAsync("case", args, Case.FromJson, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetCaseAsync"/>.</summary>
        public Case GetCase(long id, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id);
            return Call("case", args, Case.FromJson, cancellationToken);
        }

        /// <summary>The case with case number <paramref name="number"/>.</summary>
        public Task<Case> GetCaseByNumberAsync(string number, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "number", "number", number);
            return CallAsync("case_by_number", args, Case.FromJson, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetCaseByNumberAsync"/>.</summary>
        public Case GetCaseByNumber(string number, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "number", "number", number);
            return Call("case_by_number", args, Case.FromJson, cancellationToken);
        }

        /// <summary>The people of case <paramref name="id"/>.</summary>
        public Task<IReadOnlyList<Person>> GetCasePeopleAsync(long id, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id);
            return CallAsync("case_people", args, ListOf(Person.FromJson), cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetCasePeopleAsync"/>.</summary>
        public IReadOnlyList<Person> GetCasePeople(long id, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id);
            return Call("case_people", args, ListOf(Person.FromJson), cancellationToken);
        }

        /// <summary>Creates a case (validated first; never retried once it may have reached SAFE)
        /// and returns it as SAFE stored it.</summary>
        public Task<Case> CreateCaseAsync(Case model, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "case", "model", model);
            return CallAsync("create_case", args, Case.FromJson, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="CreateCaseAsync"/>.</summary>
        public Case CreateCase(Case model, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "case", "model", model);
            return Call("create_case", args, Case.FromJson, cancellationToken);
        }

        /// <summary>Replaces case <paramref name="id"/> with <paramref name="model"/>.</summary>
        public Task<Case> UpdateCaseAsync(long id, Case model, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id); Arg(args, "case", "model", model);
            return CallAsync("update_case", args, Case.FromJson, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="UpdateCaseAsync"/>.</summary>
        public Case UpdateCase(long id, Case model, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id); Arg(args, "case", "model", model);
            return Call("update_case", args, Case.FromJson, cancellationToken);
        }

        /// <summary>The person with id <paramref name="id"/>.</summary>
        public Task<Person> GetPersonAsync(long id, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id);
            return CallAsync("person", args, Person.FromJson, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetPersonAsync"/>.</summary>
        public Person GetPerson(long id, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id);
            return Call("person", args, Person.FromJson, cancellationToken);
        }

        /// <summary>Creates a person (and an optional address).</summary>
        public Task<Person> CreatePersonAsync(NewPerson model, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "person", "model", model);
            return CallAsync("create_person", args, Person.FromJson, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="CreatePersonAsync"/>.</summary>
        public Person CreatePerson(NewPerson model, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "person", "model", model);
            return Call("create_person", args, Person.FromJson, cancellationToken);
        }

        /// <summary>Replaces person <paramref name="id"/> with <paramref name="model"/>.</summary>
        public Task<Person> UpdatePersonAsync(long id, Person model, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id); Arg(args, "person", "model", model);
            return CallAsync("update_person", args, Person.FromJson, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="UpdatePersonAsync"/>.</summary>
        public Person UpdatePerson(long id, Person model, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id); Arg(args, "person", "model", model);
            return Call("update_person", args, Person.FromJson, cancellationToken);
        }

        /// <summary>People matching <paramref name="search"/>.</summary>
        public Task<IReadOnlyList<TypeaheadEntry>> GetPeopleTypeaheadAsync(string search, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "search", "search", search);
            return CallAsync("people_typeahead", args, ListOf(TypeaheadEntry.FromJson), cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetPeopleTypeaheadAsync"/>.</summary>
        public IReadOnlyList<TypeaheadEntry> GetPeopleTypeahead(string search, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "search", "search", search);
            return Call("people_typeahead", args, ListOf(TypeaheadEntry.FromJson), cancellationToken);
        }

        /// <summary>Whether a person already uses <paramref name="email"/>.</summary>
        public Task<bool> IsEmailInUseAsync(string email, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "email", "email", email);
            return CallAsync("email_in_use", args, Wire.Bool, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="IsEmailInUseAsync"/>.</summary>
        public bool IsEmailInUse(string email, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "email", "email", email);
            return Call("email_in_use", args, Wire.Bool, cancellationToken);
        }

        /// <summary>The user with id <paramref name="id"/>.</summary>
        public Task<User> GetUserAsync(long id, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id);
            return CallAsync("user", args, User.FromJson, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetUserAsync"/>.</summary>
        public User GetUser(long id, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id);
            return Call("user", args, User.FromJson, cancellationToken);
        }

        /// <summary>Creates a user.</summary>
        public Task<User> CreateUserAsync(User model, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "user", "model", model);
            return CallAsync("create_user", args, User.FromJson, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="CreateUserAsync"/>.</summary>
        public User CreateUser(User model, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "user", "model", model);
            return Call("create_user", args, User.FromJson, cancellationToken);
        }

        /// <summary>Replaces user <paramref name="id"/> with <paramref name="model"/>.</summary>
        public Task<User> UpdateUserAsync(long id, User model, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id); Arg(args, "user", "model", model);
            return CallAsync("update_user", args, User.FromJson, cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="UpdateUserAsync"/>.</summary>
        public User UpdateUser(long id, User model, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "id", "id", id); Arg(args, "user", "model", model);
            return Call("update_user", args, User.FromJson, cancellationToken);
        }

        /// <summary>Users matching <paramref name="search"/>.</summary>
        public Task<IReadOnlyList<TypeaheadEntry>> GetUsersTypeaheadAsync(string search, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "search", "search", search);
            return CallAsync("users_typeahead", args, ListOf(TypeaheadEntry.FromJson), cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetUsersTypeaheadAsync"/>.</summary>
        public IReadOnlyList<TypeaheadEntry> GetUsersTypeahead(string search, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "search", "search", search);
            return Call("users_typeahead", args, ListOf(TypeaheadEntry.FromJson), cancellationToken);
        }

        /// <summary>A lookup list: <c>races</c>, <c>genders</c>, <c>address_types</c>,
        /// <c>states</c>, <c>person_types</c>, <c>offense_types</c> or <c>categories</c>.</summary>
        public Task<IReadOnlyList<LookupEntry>> GetLookupAsync(string name, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "name", "name", name);
            return CallAsync("lookup", args, ListOf(LookupEntry.FromJson), cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetLookupAsync"/>.</summary>
        public IReadOnlyList<LookupEntry> GetLookup(string name, CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "name", "name", name);
            return Call("lookup", args, ListOf(LookupEntry.FromJson), cancellationToken);
        }

        /// <summary>The custom form definitions of a type: <c>All</c>, <c>Cases</c>, <c>Items</c>
        /// or <c>People</c>.</summary>
        public Task<IReadOnlyList<Form>> GetFormsAsync(string formType = "All", CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "form_type", "formType", formType);
            return CallAsync("forms", args, ListOf(Form.FromJson), cancellationToken);
        }

        /// <summary>The blocking twin of <see cref="GetFormsAsync"/>.</summary>
        public IReadOnlyList<Form> GetForms(string formType = "All", CancellationToken cancellationToken = default(CancellationToken))
        {
            var args = new JsonObject(); Arg(args, "form_type", "formType", formType);
            return Call("forms", args, ListOf(Form.FromJson), cancellationToken);
        }

        // ---- translation ----

        T Call<T>(string method, JsonObject args, Func<JsonValue, string, T> decode, CancellationToken ct)
        {
            string text = JsonValue.FromObject(args).ToString();
            return NativeCall.Run(cancel => Decode(method, Invoke(method, text, cancel), decode), ct);
        }

        Task<T> CallAsync<T>(string method, JsonObject args, Func<JsonValue, string, T> decode, CancellationToken ct)
        {
            string text = JsonValue.FromObject(args).ToString();
            return NativeCall.RunAsync(cancel => Decode(method, Invoke(method, text, cancel), decode), ct);
        }

        /// <summary>The library's JSON answer of <paramref name="method"/>, undecoded (tests).</summary>
        internal string CallJson(string method, string argsJson)
        {
            return NativeCall.Run(cancel => Invoke(method, argsJson, cancel), CancellationToken.None);
        }

        string Invoke(string method, string argsJson, CancelHandle cancel)
        {
            IntPtr m = Utf8.Alloc(method), a = Utf8.Alloc(argsJson);
            try
            {
                IntPtr json;
                SafeTrackerException.Check(Native.safe_client_call_cancellable(handle, m, a, cancel, out json));
                return Utf8.Take(json);
            }
            finally
            {
                Utf8.Free(m);
                Utf8.Free(a);
            }
        }

        /// <summary>The answer as <typeparamref name="T"/>; an answer the model does not fit is a
        /// <see cref="DecodeException"/> naming the method.</summary>
        static T Decode<T>(string method, string json, Func<JsonValue, string, T> decode)
        {
            try
            {
                return decode(JsonValue.Parse(json), method);
            }
            catch (FormatException e)
            {
                throw SafeTrackerException.Of(ErrorCode.Decode, "could not decode the answer of " + method + ": " + e.Message, e);
            }
        }

        static Func<JsonValue, string, T> NullOr<T>(Func<JsonValue, string, T> decode) where T : class
        {
            return (v, at) => v.IsNull ? null : decode(v, at);
        }

        static Func<JsonValue, string, IReadOnlyList<T>> ListOf<T>(Func<JsonValue, string, T> decode)
        {
            return (v, at) => Wire.List(v, at, decode);
        }

        static void Arg(JsonObject args, string key, string name, long value)
        {
            if (name == "seq" && value < 0) throw new ArgumentOutOfRangeException(name, value, "a sequential org id is not negative");
            args.Add(key, JsonValue.FromInt64(value));
        }

        static void Arg(JsonObject args, string key, string name, int value)
        {
            if (value <= 0) throw new ArgumentOutOfRangeException(name, value, "must be positive");
            args.Add(key, JsonValue.FromInt64(value));
        }

        static void Arg(JsonObject args, string key, string name, string value)
        {
            if (value == null) throw new ArgumentNullException(name);
            args.Add(key, JsonValue.FromString(value));
        }

        static void Arg(JsonObject args, string key, string name, DateTimeOffset value)
        {
            args.Add(key, JsonValue.FromString(value.ToString("o", CultureInfo.InvariantCulture)));
        }

        static void Arg(JsonObject args, string key, string name, IWireModel value)
        {
            if (value == null) throw new ArgumentNullException(name);
            args.Add(key, value.ToJson());
        }
    }
}
