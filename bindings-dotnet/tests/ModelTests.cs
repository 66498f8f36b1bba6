// Tests of the generated models (Generated/Models.g.cs) and of Json.cs (EveryModelCheck):
//  * tests/conformance/full-models.json (one wire object per model with EVERY schema property set,
//    plus `futureField` where the model keeps unknown keys; the same contract as
//    core/tests/full_models.rs, bindings-python/tests/test_full_models.py and
//    bindings-node/test/full-models.test.mjs): each vector is decoded by the generated reader and
//    compared property by property, through reflection over [WireName] (here only), with the
//    schema's type and the vector's value; Extra holds exactly the unknown key; ToJson gives the
//    vector back;
//  * schema/safe-tracker.schema.json: every model of $defs has its class, with one property per
//    schema property, of the type the schema gives (so a field added to Rust and regenerated but
//    missing from the vectors, or a stale Models.cs, is caught);
//  * dates (raw kept, parsed when it parses), unknown keys, absent vs null, wrong types, int64
//    exactness, the JSON parser's strictness, form data;
//  * the library's own JSON (an item, poller records, a sweep report, a status) through the models.
// The repository root comes from SAFE_REPO_ROOT (tests/run.sh sets it).
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Reflection;
using SafeTracker;

static class ModelTests
{
    const string Unknown = "futureField";
    static Action<bool, string> report;
    static JsonObject defs;

    static void Check(bool ok, string what) { report(ok, "models: " + what); }

    /// <summary>Runs every model test; results go to <paramref name="check"/> (one call per check).</summary>
    internal static void Run(SafeTrackerClient client, Action<bool, string> check)
    {
        report = check;
        string root = Environment.GetEnvironmentVariable("SAFE_REPO_ROOT");
        if (string.IsNullOrEmpty(root)) { Check(false, "SAFE_REPO_ROOT is not set (run.sh sets it)"); return; }
        JsonValue schema = null, vectors = null;
        Guard("reading the schema and the vectors", () =>
        {
            schema = JsonValue.Parse(File.ReadAllText(Path.Combine(root, "schema", "safe-tracker.schema.json")));
            vectors = JsonValue.Parse(File.ReadAllText(Path.Combine(root, "tests", "conformance", "full-models.json")));
        });
        if (schema == null || vectors == null) return;
        defs = schema.AsObject["$defs"].AsObject;
        Guard("schema coverage", SchemaCoverage);
        Guard("full vectors", () => FullVectors(vectors.AsObject["models"].AsObject));
        Guard("dates", Dates);
        Guard("unknown keys", UnknownKeys);
        Guard("absent and null", AbsentAndNull);
        Guard("unions", Unions);
        Guard("wrong types", WrongTypes);
        Guard("json parser", Parser);
        Guard("form data", FormDataTests);
        Guard("the library's JSON", () => Live(client));
    }

    static void Guard(string name, Action test)
    {
        try { test(); }
        catch (Exception e) { Check(false, name + " threw " + e); }
    }

    static void Throws<E>(Action a, string what, string contains = null) where E : Exception
    {
        try { a(); Check(false, what + ": no " + typeof(E).Name); }
        catch (E e) { Check(contains == null || e.Message.Contains(contains), what + ": " + e.Message); }
        catch (Exception e) { Check(false, what + ": " + e.GetType().Name + " instead of " + typeof(E).Name + ": " + e.Message); }
    }

    // ---- the schema, read the way tools/codegen/src/csharp.rs reads it (written again here) ----

    static JsonObject Obj(JsonValue v) { return v != null && v.Kind == JsonKind.Object ? v.AsObject : null; }

    static JsonValue Get(JsonValue v, string key)
    {
        JsonObject o = Obj(v);
        JsonValue w;
        return o != null && o.TryGetValue(key, out w) ? w : null;
    }

    static string GetString(JsonValue v, string key)
    {
        JsonValue w = Get(v, key);
        return w != null && w.Kind == JsonKind.String ? w.AsString : null;
    }

    static List<JsonValue> Members(JsonValue v)
    {
        JsonValue list = Get(v, "anyOf") ?? Get(v, "oneOf");
        return list == null ? null : new List<JsonValue>(list.AsArray);
    }

    static List<JsonValue> NonNull(List<JsonValue> members)
    {
        return members.FindAll(m => GetString(m, "type") != "null");
    }

    static string RefName(JsonValue v)
    {
        string r = GetString(v, "$ref");
        return r == null ? null : r.Substring(r.LastIndexOf('/') + 1);
    }

    static List<string> Required(JsonValue v)
    {
        var list = new List<string>();
        JsonValue r = Get(v, "required");
        if (r != null) foreach (var k in r.AsArray) list.Add(k.AsString);
        return list;
    }

    static List<string> EnumValues(JsonValue def)
    {
        var values = new List<string>();
        JsonValue e = Get(def, "enum");
        if (e != null)
        {
            foreach (var x in e.AsArray) { if (x.Kind != JsonKind.String) return null; values.Add(x.AsString); }
            return values;
        }
        List<JsonValue> members = Members(def);
        if (members == null) return null;
        foreach (var m in members) { string c = GetString(m, "const"); if (c == null) return null; values.Add(c); }
        return values;
    }

    /// <summary>"datetime", "form-data", "class", "union", "enum" or "alias".</summary>
    static string KindOf(string name)
    {
        JsonValue def = defs[name];
        if (name == "SafeDateTime" || GetString(def, "x-safe-type") == "datetime") return "datetime";
        if (name == "FormData" || GetString(def, "x-safe-type") == "form-data") return "form-data";
        if (Obj(Get(def, "properties")) != null) return "class";
        if (EnumValues(def) != null) return "enum";
        List<JsonValue> members = Members(def);
        if (members != null)
        {
            List<JsonValue> objects = NonNull(members);
            if (objects.Count > 0 && objects.TrueForAll(m => Obj(Get(m, "properties")) != null)) return "union";
        }
        return "alias";
    }

    static Type Wrap(Type t, bool nullable)
    {
        return nullable && t.IsValueType ? typeof(Nullable<>).MakeGenericType(t) : t;
    }

    /// <summary>The C# type of a schema (without the nullability of an optional property).</summary>
    static Type TypeOf(JsonValue schema, out bool nullable)
    {
        nullable = true;
        if (Obj(schema) == null) return typeof(JsonValue);
        string r = RefName(schema);
        if (r != null)
        {
            nullable = false;
            switch (KindOf(r))
            {
                case "datetime": return typeof(SafeDateTime);
                case "form-data": return typeof(global::SafeTracker.FormData);
                case "enum": return typeof(string);
                case "alias": return TypeOf(defs[r], out nullable);
                default: return ModelType(r);
            }
        }
        JsonValue c = Get(schema, "const");
        if (c != null) { nullable = c.Kind != JsonKind.String; return c.Kind == JsonKind.String ? typeof(string) : typeof(JsonValue); }
        if (Get(schema, "enum") != null) { nullable = false; return EnumValues(schema) != null ? typeof(string) : typeof(JsonValue); }
        List<JsonValue> members = Members(schema);
        if (members != null)
        {
            List<JsonValue> nonNull = NonNull(members);
            if (nonNull.Count != 1) return typeof(JsonValue);
            Type t = TypeOf(nonNull[0], out nullable);
            nullable |= members.Count > 1;
            return t;
        }
        var types = new List<string>();
        JsonValue type = Get(schema, "type");
        if (type == null) return typeof(JsonValue);
        if (type.Kind == JsonKind.String) types.Add(type.AsString);
        else foreach (var t in type.AsArray) types.Add(t.AsString);
        nullable = types.Remove("null");
        if (types.Count != 1) { nullable = true; return typeof(JsonValue); }
        bool n;
        switch (types[0])
        {
            case "integer": return typeof(long);
            case "number": return typeof(double);
            case "boolean": return typeof(bool);
            case "string": return GetString(schema, "format") == "date-time" ? typeof(SafeDateTime) : typeof(string);
            case "array":
                JsonValue prefix = Get(schema, "prefixItems");
                if (prefix != null)
                {
                    var items = new List<Type>();
                    foreach (var p in prefix.AsArray) { Type e = TypeOf(p, out n); items.Add(Wrap(e, n)); }
                    Type[] tuples = { null, null, typeof(ValueTuple<,>), typeof(ValueTuple<,,>), typeof(ValueTuple<,,,>) };
                    return tuples[items.Count].MakeGenericType(items.ToArray());
                }
                Type item = TypeOf(Get(schema, "items") ?? JsonValue.True, out n);
                return typeof(IReadOnlyList<>).MakeGenericType(Wrap(item, n));
            case "object":
                if (Get(schema, "properties") != null) { nullable = true; return typeof(JsonValue); }
                JsonValue value = null;
                JsonObject pattern = Obj(Get(schema, "patternProperties"));
                if (pattern != null) foreach (var kv in pattern) { value = kv.Value; break; }
                if (value == null && Obj(Get(schema, "additionalProperties")) != null) value = Get(schema, "additionalProperties");
                Type v = TypeOf(value ?? JsonValue.True, out n);
                return typeof(IReadOnlyDictionary<,>).MakeGenericType(typeof(string), Wrap(v, n));
            default:
                nullable = true;
                return typeof(JsonValue);
        }
    }

    static Type ModelType(string name)
    {
        return typeof(Item).Assembly.GetType("SafeTracker." + name);
    }

    /// <summary>A model's properties (a union's: every variant's) with their schema and whether the
    /// C# type is non-nullable (required, by every variant, and not null).</summary>
    static Dictionary<string, JsonValue> SchemaProps(string name, out Dictionary<string, bool> nonNullable)
    {
        var props = new Dictionary<string, JsonValue>();
        nonNullable = new Dictionary<string, bool>();
        JsonValue def = defs[name];
        var shapes = KindOf(name) == "union" ? NonNull(Members(def)) : new List<JsonValue> { def };
        foreach (var shape in shapes)
        {
            List<string> required = Required(shape);
            foreach (var kv in Obj(Get(shape, "properties")))
            {
                bool nullable;
                TypeOf(kv.Value, out nullable);
                bool strict = required.Contains(kv.Key) && !nullable;
                bool before;
                if (!props.ContainsKey(kv.Key)) { props[kv.Key] = kv.Value; nonNullable[kv.Key] = strict; }
                else if (nonNullable.TryGetValue(kv.Key, out before)) nonNullable[kv.Key] = before && strict;
            }
        }
        if (shapes.Count > 1)
            foreach (var key in new List<string>(props.Keys))
                foreach (var shape in shapes)
                    if (!Required(shape).Contains(key)) nonNullable[key] = false;
        return props;
    }

    static Dictionary<string, PropertyInfo> WireProps(Type t)
    {
        var map = new Dictionary<string, PropertyInfo>();
        foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var attr = (WireNameAttribute)Attribute.GetCustomAttribute(p, typeof(WireNameAttribute));
            if (attr == null) continue;
            Check(!map.ContainsKey(attr.Name), t.Name + ": [WireName(\"" + attr.Name + "\")] twice");
            map[attr.Name] = p;
        }
        return map;
    }

    static Type DeclaredType(string name, string key, JsonValue prop, Dictionary<string, bool> nonNullable)
    {
        bool nullable;
        Type t = TypeOf(prop, out nullable);
        return Wrap(t, !nonNullable[key]);
    }

    // ---- every model of $defs has its class ----

    static void SchemaCoverage()
    {
        int classes = 0;
        foreach (var kv in defs)
        {
            string name = kv.Key, kind = KindOf(name);
            if (kind == "datetime" || kind == "form-data" || kind == "alias") continue;
            Type t = ModelType(name);
            if (t == null) { Check(false, "$defs/" + name + " has no C# class"); continue; }
            if (kind == "enum")
            {
                Check(t.IsAbstract && t.IsSealed, name + " is a static class of constants");
                var all = (IReadOnlyList<string>)t.GetField("All").GetValue(null);
                List<string> values = EnumValues(kv.Value);
                Check(all.Count == values.Count, name + ".All has every value");
                foreach (var v in values)
                {
                    bool found = false;
                    foreach (var f in t.GetFields(BindingFlags.Public | BindingFlags.Static))
                        if (f.IsLiteral && (string)f.GetRawConstantValue() == v) found = true;
                    Check(found && new List<string>(all).Contains(v), name + ": a constant for \"" + v + "\"");
                }
                continue;
            }
            classes++;
            Check(t.IsClass && t.IsSealed && t.IsPublic, name + " is a public sealed class");
            Dictionary<string, bool> nonNullable;
            var props = SchemaProps(name, out nonNullable);
            var wire = WireProps(t);
            foreach (var p in props)
            {
                PropertyInfo pi;
                if (!wire.TryGetValue(p.Key, out pi)) { Check(false, name + "." + p.Key + ": no property with [WireName(\"" + p.Key + "\")]"); continue; }
                Type expected = DeclaredType(name, p.Key, p.Value, nonNullable);
                Check(pi.PropertyType == expected, name + "." + p.Key + ": " + pi.PropertyType + ", the schema says " + expected);
                Check(pi.CanRead && pi.CanWrite, name + "." + p.Key + ": get and set");
            }
            foreach (var w in wire.Keys) Check(props.ContainsKey(w), name + "." + w + ": not in the schema");
            PropertyInfo extra = t.GetProperty("Extra");
            Check(extra != null && extra.PropertyType == typeof(IDictionary<string, JsonValue>), name + ".Extra");
            Check(t.GetMethod("FromJson", BindingFlags.Static | BindingFlags.NonPublic, null, new[] { typeof(JsonValue), typeof(string) }, null) != null, name + ".FromJson");
            Check(t.GetMethod("Parse", new[] { typeof(string) }) != null && t.GetMethod("ToJson", Type.EmptyTypes) != null, name + ".Parse/ToJson");
        }
        Check(classes >= 25, "the schema's models are classes (" + classes + ")");
    }

    // ---- the every-field vectors ----

    static object Decode(Type t, JsonValue wire, string at)
    {
        MethodInfo read = t.GetMethod("FromJson", BindingFlags.Static | BindingFlags.NonPublic);
        try { return read.Invoke(null, new object[] { wire, at }); }
        catch (TargetInvocationException e) { throw e.InnerException; }
    }

    static JsonValue Encode(object model)
    {
        return (JsonValue)model.GetType().GetMethod("ToJson", Type.EmptyTypes).Invoke(model, null);
    }

    static void FullVectors(JsonObject models)
    {
        Check(models.Count >= 11, "the vectors name the models (" + models.Count + ")");
        foreach (var kv in models)
        {
            string name = kv.Key;
            JsonValue wire = kv.Value;
            Type t = ModelType(name);
            if (t == null) { Check(false, name + ": no class for the vector"); continue; }
            object model;
            try { model = Decode(t, wire, name); }
            catch (Exception e) { Check(false, name + ": the vector does not decode: " + e.Message); continue; }
            CheckModel(name, name, model, wire, true);
            JsonValue back = Encode(model);
            Check(back.Equals(wire), name + ": ToJson gives the vector back: " + back);
            object again = t.GetMethod("Parse", new[] { typeof(string) }).Invoke(null, new object[] { wire.ToString() });
            Check(Encode(again).Equals(wire), name + ": Parse(text) reads the same");
        }
        // Spot checks through the typed API (the reflection above covers every field).
        Item item = Item.FromJson(models["Item"]);
        Check(item.Id == 1006 && item.SequentialOrgId == 1018 && item.PrimaryCaseId == 1013, "Item ids");
        Check(item.RecoveryDate.Raw == "2024-04-16T08:05:00.000Z"
              && item.RecoveryDate.Value == new DateTimeOffset(2024, 4, 16, 8, 5, 0, TimeSpan.Zero), "Item.RecoveryDate raw and parsed");
        Check(item.FormData.Count == 1 && item.FormData[0].FormId == 921 && item.FormData[0].Data.Fields["field6459"].AsString == "Rear door",
              "Item.FormData decoded");
        Check(item.RecoveryLocationLatitude.NumberText == "39.7817", "an untyped number keeps its text");
        Check(item.Extra.Count == 1 && item.Extra.ContainsKey(Unknown), "Item.Extra: the unknown key only");
        NewPerson np = NewPerson.FromJson(models["NewPerson"]);
        Check(np.Person.FirstName != null && np.Address.Line1 != null, "NewPerson nested models");
        LookupEntry le = LookupEntry.FromJson(models["LookupEntry"]);
        long id = le.Id; // required and non-null: a plain long
        Check(id == models["LookupEntry"].AsObject["id"].ToInt64(), "LookupEntry.Id");
    }

    static void CheckModel(string at, string name, object model, JsonValue wire, bool full)
    {
        Type t = model.GetType();
        Check(t.Name == name, at + ": a " + t.Name + ", not " + name);
        JsonObject w = wire.AsObject;
        Dictionary<string, bool> nonNullable;
        var props = SchemaProps(name, out nonNullable);
        var byWire = WireProps(t);
        foreach (var p in props)
        {
            PropertyInfo pi;
            if (!byWire.TryGetValue(p.Key, out pi)) { Check(false, at + "." + p.Key + ": no property"); continue; }
            Check(pi.PropertyType == DeclaredType(name, p.Key, p.Value, nonNullable), at + "." + p.Key + ": declared " + pi.PropertyType);
            JsonValue value;
            if (!w.TryGetValue(p.Key, out value))
            {
                Check(!full, at + "." + p.Key + ": the vector has no value for this property");
                continue;
            }
            CheckValue(at + "." + p.Key, p.Value, pi.GetValue(model), value, full);
        }
        foreach (var k in byWire.Keys) Check(props.ContainsKey(k), at + "." + k + ": a property the schema does not have");
        var extra = (IDictionary<string, JsonValue>)t.GetProperty("Extra").GetValue(model);
        var unknown = new List<string>();
        foreach (var kv in w) if (!props.ContainsKey(kv.Key)) unknown.Add(kv.Key);
        Check(extra.Count == unknown.Count, at + ": Extra holds the unknown keys only (" + extra.Count + " vs " + unknown.Count + ")");
        foreach (var k in unknown)
        {
            JsonValue kept;
            Check(extra.TryGetValue(k, out kept) && kept.Equals(w[k]), at + "." + k + ": kept in Extra as it came");
        }
        if (full)
        {
            bool keeps = JsonValue.True.Equals(Get(defs[name], "additionalProperties"));
            Check(w.ContainsKey(Unknown) == keeps, at + ": `" + Unknown + "` exactly when the model keeps unknown keys");
            Check(extra.Count == (keeps ? 1 : 0), at + ": Extra is the unknown key only");
        }
    }

    static void CheckDate(string at, object value, string raw)
    {
        var d = value as SafeDateTime;
        DateTimeOffset expected = DateTimeOffset.Parse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        Check(d != null && d.Raw == raw && d.Value != null && d.Value.Value == expected && d.Value.Value.Offset == TimeSpan.Zero,
              at + ": a SafeDateTime with the raw text and the parsed instant");
    }

    static void CheckValue(string at, JsonValue prop, object value, JsonValue wire, bool full)
    {
        if (wire.IsNull) { Check(full == false && value == null, at + ": null reads as null"); return; }
        if (value == null) { Check(false, at + ": null (the vector has " + wire + ")"); return; }
        List<JsonValue> members = Members(prop);
        if (RefName(prop) == null && members != null)
        {
            List<JsonValue> nonNull = NonNull(members);
            if (nonNull.Count == 1) { CheckValue(at, nonNull[0], value, wire, full); return; }
        }
        string r = RefName(prop);
        if (r != null)
        {
            switch (KindOf(r))
            {
                case "datetime": CheckDate(at, value, wire.AsString); break;
                case "form-data":
                    var f = value as global::SafeTracker.FormData;
                    Check(f != null && f.Raw == wire.AsString && f.Error == null
                          && JsonValue.FromObject(ToObject(f.Fields)).Equals(JsonValue.Parse(wire.AsString)), at + ": form data, raw and decoded");
                    break;
                case "enum": Check(value is string && (string)value == wire.AsString, at + ": " + value); break;
                case "alias": CheckValue(at, defs[r], value, wire, full); break;
                default: CheckModel(at, r, value, wire, false); break;
            }
            return;
        }
        if (Get(prop, "const") != null) { Check(value is string && (string)value == wire.AsString, at + ": " + value); return; }
        JsonValue type = Get(prop, "type");
        string t = null;
        if (type != null && type.Kind == JsonKind.String) t = type.AsString;
        else if (type != null) foreach (var x in type.AsArray) if (x.AsString != "null") { t = x.AsString; break; }
        switch (t)
        {
            case null: // any value: kept as it came
                Check(value is JsonValue && ((JsonValue)value).Equals(wire), at + ": " + value + " kept as " + wire);
                break;
            case "integer":
                Check(value is long && (long)value == wire.ToInt64(), at + ": " + value + " (" + value.GetType().Name + ") for " + wire);
                break;
            case "number":
                Check(value is double && (double)value == wire.ToDouble(), at + ": " + value + " for " + wire);
                break;
            case "boolean":
                Check(value is bool && (bool)value == wire.AsBool, at + ": " + value + " for " + wire);
                break;
            case "string":
                if (GetString(prop, "format") == "date-time") CheckDate(at, value, wire.AsString);
                else Check(value is string && (string)value == wire.AsString, at + ": " + value + " for " + wire);
                break;
            case "array":
                JsonValue prefix = Get(prop, "prefixItems");
                if (prefix != null)
                {
                    for (int i = 0; i < prefix.AsArray.Count; i++)
                        CheckValue(at + "[" + i + "]", prefix.AsArray[i], value.GetType().GetField("Item" + (i + 1)).GetValue(value), wire.AsArray[i], full);
                    break;
                }
                var list = value as IList;
                if (list == null) { Check(false, at + ": not a list but " + value.GetType()); break; }
                Check(list.Count == wire.AsArray.Count && (!full || list.Count > 0), at + ": " + list.Count + " elements (an empty list checks nothing)");
                JsonValue items = Get(prop, "items") ?? JsonValue.True;
                for (int i = 0; i < list.Count && i < wire.AsArray.Count; i++)
                {
                    if (Obj(items) == null) Check(list[i] is JsonValue && ((JsonValue)list[i]).Equals(wire.AsArray[i]), at + "[" + i + "]: kept");
                    else CheckValue(at + "[" + i + "]", items, list[i], wire.AsArray[i], full);
                }
                break;
            case "object":
                var map = value as IDictionary;
                Check(map != null && map.Count == wire.AsObject.Count, at + ": a map of " + wire.AsObject.Count);
                break;
            default:
                Check(false, at + ": schema type " + t + " not handled by the test");
                break;
        }
    }

    static JsonObject ToObject(IReadOnlyDictionary<string, JsonValue> fields)
    {
        var o = new JsonObject();
        foreach (var kv in fields) o.Add(kv.Key, kv.Value);
        return o;
    }

    // ---- hand-written vectors ----

    static void Dates()
    {
        Item item = Item.Parse("{\"recoveryDate\":\"not a date\",\"dateCreated\":\"2017-11-29 13:25:00.000\","
                               + "\"updatedDate\":\"2020-02-13T05:00:00.000+02:00\"}");
        Check(item.RecoveryDate.Raw == "not a date" && item.RecoveryDate.Value == null, "an unparseable date keeps its raw text");
        Check(item.ToJson().AsObject["recoveryDate"].AsString == "not a date", "an unparseable date is written back as it came");
        Check(item.DateCreated.Value == new DateTimeOffset(2017, 11, 29, 13, 25, 0, TimeSpan.Zero), "a date without a zone is UTC");
        Check(item.UpdatedDate.Value == new DateTimeOffset(2020, 2, 13, 3, 0, 0, TimeSpan.Zero)
              && item.UpdatedDate.Raw == "2020-02-13T05:00:00.000+02:00", "an offset date: the instant, the raw text kept");
        Check(SafeDateTime.Parse("2024-04-16T08:05:00.123456789Z").Value.Value.Ticks % TimeSpan.TicksPerSecond == 1234567, "nanoseconds to ticks");
        Check(SafeDateTime.Parse("2024-04-16").Value == new DateTimeOffset(2024, 4, 16, 0, 0, 0, TimeSpan.Zero), "a date alone is midnight UTC");
        Check(SafeDateTime.Parse("2024-04-16T08:05").Value == new DateTimeOffset(2024, 4, 16, 8, 5, 0, TimeSpan.Zero), "minutes without seconds");
        foreach (var bad in new[] { "2024-02-30T00:00:00Z", "2024-13-01", "24-04-16", "2024-04-16T08:05:00+25:00", "2024-04-16T25:00:00", "", "2024-04-16T08:05:00.Z" })
            Check(SafeDateTime.Parse(bad).Value == null && SafeDateTime.Parse(bad).Raw == bad, "not a date: \"" + bad + "\"");
        var now = SafeDateTime.FromValue(new DateTimeOffset(2024, 4, 16, 10, 5, 0, 250, TimeSpan.FromHours(2)));
        Check(now.Raw == "2024-04-16T08:05:00.250Z" && now.Value == new DateTimeOffset(2024, 4, 16, 8, 5, 0, 250, TimeSpan.Zero), "FromValue: " + now.Raw);
        var hole = Hole.Parse("{\"first_seen\":\"2024-04-16T08:05:00Z\",\"probes\":2}");
        Check(hole.FirstSeen.Value != null && hole.Probes == 2, "a format: date-time string is a SafeDateTime too");
    }

    static void UnknownKeys()
    {
        var e = TypeaheadEntry.Parse("{\"id\":1,\"b\":[1,{\"c\":null}],\"text\":\"x\",\"a\":2.50}");
        var keys = new List<string>(e.Extra.Keys);
        Check(keys.Count == 2 && keys[0] == "b" && keys[1] == "a", "unknown keys land in Extra, in order");
        Check(e.Extra["a"].NumberText == "2.50" && e.Extra["b"].Equals(JsonValue.Parse("[1,{\"c\":null}]")), "unknown values as they came");
        Check(e.ToJson().ToString() == "{\"id\":1,\"text\":\"x\",\"b\":[1,{\"c\":null}],\"a\":2.50}", "unknown keys written back: " + e.ToJson());
        e.Extra["id"] = JsonValue.FromInt64(99);
        Check(e.ToJson().AsObject["id"].ToInt64() == 1, "a typed property wins over an Extra key of its name");
        var fd = FormDataEntry.Parse("{\"data\":\"{}\",\"formId\":5,\"later\":{\"x\":1}}");
        Check(fd.Extra.Count == 1 && fd.FormId == 5, "FormDataEntry keeps unknown keys");
    }

    static void AbsentAndNull()
    {
        Item item = Item.Parse("{\"id\":null,\"description\":null}");
        Check(item.Id == null && item.Description == null && item.Extra.Count == 0, "an optional null reads as absent (not into Extra)");
        Check(item.ToJson().ToString() == "{}", "an absent optional property is not written: " + item.ToJson());
        Throws<FormatException>(() => LookupEntry.Parse("{\"name\":\"x\"}"), "a required field absent", "\"id\" is missing");
        Throws<FormatException>(() => LookupEntry.Parse("{\"id\":null}"), "a required non-null field null", "LookupEntry.id");
        Check(TypeaheadEntry.Parse("{\"id\":5}").Text == "", "a required field absent takes the schema's default");
        var entry = FormDataEntry.Parse("{\"data\":null}");
        Check(entry.Data != null && entry.Data.Raw == "" && entry.Data.Fields.Count == 0, "form data null reads as \"\" (as in the core)");
        string status = "{\"stream\":\"items\",\"cursor\":7,\"holes\":[3],\"last_sweep_started\":null,\"last_sweep\":null,"
                        + "\"next_allowed_sweep\":null,\"requests_spent\":9,\"stalled_next\":null,\"watermark\":null,\"stuck\":null,"
                        + "\"partial\":null,\"skipped\":[],\"duplicate_numbers\":0}";
        PollerStatus s = PollerStatus.Parse(status);
        Check(s.Cursor == 7 && s.LastSweep == null && s.StalledNext == null && s.Holes.Count == 1 && s.Skipped.Count == 0, "required nullable fields: null");
        Check(s.ToJson().Equals(JsonValue.Parse(status)), "required fields are written, null included: " + s.ToJson());
        Throws<FormatException>(() => PollerStatus.Parse(status.Replace("\"stalled_next\":null,", "")), "a required nullable field absent", "stalled_next");
        var state = PollerState.Parse("{\"version\":2,\"stream\":\"items\",\"cursor\":4}");
        Check(state.Holes.Count == 0 && state.Recent.Count == 0 && state.RequestsSpent == 0 && state.LastSweep == null,
              "absent fields with a schema default take it");
        state = PollerState.Parse("{\"version\":2,\"stream\":\"updated\",\"cursor\":4,\"recent\":[[12,\"2024-01-01\"]],"
                                  + "\"holes\":{\"9\":{\"first_seen\":\"2024-04-16T08:05:00Z\",\"probes\":1}}}");
        Check(state.Recent.Count == 1 && state.Recent[0].Item1 == 12 && state.Recent[0].Item2 == "2024-01-01", "a prefixItems pair is a tuple");
        Check(state.Holes["9"].Probes == 1, "a map of models");
        Check(state.ToJson().AsObject["recent"].ToString() == "[[12,\"2024-01-01\"]]", "a tuple is written as a list");
        Throws<FormatException>(() => PollerState.Parse("{\"version\":2,\"stream\":\"x\",\"cursor\":4,\"recent\":[[1]]}"), "a tuple of the wrong length", "recent[0]");
    }

    static void Unions()
    {
        var key = DedupeKey.Parse("{\"organization_id\":1,\"item_id\":7}");
        Check(key.OrganizationId == 1 && key.ItemId == 7 && key.SequentialOrgId == null, "DedupeKey: the item-id shape");
        Check(key.ToJson().ToString() == "{\"organization_id\":1,\"item_id\":7}", "DedupeKey written back");
        Check(DedupeKey.Parse("{\"organization_id\":1,\"sequential_org_id\":3}").SequentialOrgId == 3, "DedupeKey: the number shape");
        Throws<FormatException>(() => DedupeKey.Parse("{\"organization_id\":1}"), "DedupeKey of neither shape", "none of its shapes");
        var ev = PollerEvent.Parse("{\"event\":\"duplicate_number\",\"seq\":3,\"ids\":[5,6]}");
        Check(ev.Event == PollerEvent.DuplicateNumber && ev.Seq == 3 && ev.Ids.Count == 2 && ev.Ids[1] == 6, "PollerEvent: duplicate_number");
        Throws<FormatException>(() => PollerEvent.Parse("{\"event\":\"duplicate_number\",\"seq\":3}"), "a variant's required field", "\"ids\" is missing");
        Throws<FormatException>(() => PollerEvent.Parse("{\"seq\":3}"), "a union without its tag", "\"event\" is missing");
        var future = PollerEvent.Parse("{\"event\":\"future_kind\",\"seq\":1,\"x\":true}");
        Check(future.Event == "future_kind" && future.Seq == 1 && future.Extra["x"].AsBool, "a variant this SDK does not know still reads");
        var fin = PollerEvent.Parse("{\"event\":\"sweep_finished\",\"summary\":{\"started\":\"2024-04-16T08:05:00Z\",\"finished\":\"2024-04-16T08:05:01Z\","
                                    + "\"items\":3,\"requests\":4,\"holes_recorded\":0,\"holes_filled\":0,\"holes_abandoned\":0,\"cursor_start\":1,"
                                    + "\"cursor_end\":4,\"outcome\":{\"outcome\":\"failed\",\"code\":13,\"message\":\"bad\"}}}");
        Check(fin.Summary.Items == 3 && fin.Summary.DuplicateNumbers == 0 && fin.Summary.Outcome.Outcome == SweepOutcome.Failed
              && fin.Summary.Outcome.Code == 13, "nested unions");
        Check(Lookup.All.Count == 7 && Lookup.AddressTypes == "address_types", "Lookup constants");
    }

    static void WrongTypes()
    {
        Throws<FormatException>(() => Item.Parse("{\"id\":\"7\"}"), "a string for an integer", "Item.id: expected an integer");
        Throws<FormatException>(() => Item.Parse("{\"id\":1.5}"), "a fraction for an integer", "Item.id");
        Throws<FormatException>(() => Item.Parse("{\"id\":1e3}"), "an exponent for an integer", "Item.id");
        Throws<FormatException>(() => Item.Parse("{\"id\":18446744073709551615}"), "a uint64 past int64", "Item.id");
        Throws<FormatException>(() => Item.Parse("{\"formData\":[{\"formId\":\"x\"}]}"), "a nested wrong type", "Item.formData[0].formId");
        Throws<FormatException>(() => Item.Parse("{\"active\":1}"), "a number for a boolean", "Item.active: expected a boolean");
        Throws<FormatException>(() => Item.Parse("{\"peopleIds\":{}}"), "an object for a list", "Item.peopleIds: expected a list");
        Throws<FormatException>(() => Item.Parse("[]"), "a list for a model", "Item: expected an object");
        Throws<FormatException>(() => Item.Parse("{\"description\":5}"), "a number for a string", "Item.description");
        Throws<FormatException>(() => PollerState.Parse("{\"version\":2,\"stream\":\"x\",\"cursor\":4,\"holes\":{\"1\":5}}"), "a map value", "holes[\"1\"]");
        Item big = Item.Parse("{\"id\":9007199254740993,\"sequentialOrgId\":-9223372036854775808}");
        Check(big.Id == 9007199254740993L && big.SequentialOrgId == long.MinValue, "int64 ids are exact");
        Check(big.ToJson().ToString() == "{\"id\":9007199254740993,\"sequentialOrgId\":-9223372036854775808}", "and written back exactly");
    }

    static void Parser()
    {
        string[] bad = {
            "", " ", "{", "}", "[1,]", "{\"a\":1,}", "01", "1.", "-", "+1", ".5", "'a'", "\"\\x\"", "\"\\ud800\"", "\"\\udc00x\"",
            "\"\\ud800\\u0041\"", "\"a\nb\"", "\"\u0001\"", "nul", "truex", "[1] 2", "{\"a\" 1}", "{1:2}", "NaN", "1e", "1e+", "\"abc",
            "[\"a\" \"b\"]", "\"\\u12\"", "\"" + '\uD800' + "\"", "/* c */ 1", "\u00a01",
        };
        foreach (var text in bad) Throws<FormatException>(() => JsonValue.Parse(text), "bad JSON " + text.Replace("\n", "\\n"));
        Throws<FormatException>(() => JsonValue.Parse(new string('[', 100000)), "deep nesting is refused, not a stack overflow", "nested");
        Check(JsonValue.Parse(new string('[', 100) + new string(']', 100)).Kind == JsonKind.Array, "100 levels are fine");
        Throws<FormatException>(() => JsonValue.Parse("{\n  \"a\": tru\n}"), "errors name the line and column", "line 2, column 8");
        Check(JsonValue.Parse("\"\\u00e9\\ud83d\\ude00\\n\\/\"").AsString == "\u00e9\ud83d\ude00\n/", "escapes and surrogate pairs");
        Check(JsonValue.Parse(" \t\r\n-0 ").NumberText == "-0" && JsonValue.Parse("0.5E+2").ToDouble() == 50, "numbers keep their text");
        JsonValue o = JsonValue.Parse("{\"b\":1,\"a\":[true,false,null],\"b\":3}");
        var keys = new List<string>(o.AsObject.Keys);
        Check(keys.Count == 2 && keys[0] == "b" && o.AsObject["b"].ToInt64() == 3, "key order kept; a repeated key keeps its place and the last value");
        Check(o.ToString() == "{\"b\":3,\"a\":[true,false,null]}", "compact text: " + o);
        Check(JsonValue.FromString("a\"\\\u0001\u00e9").ToString() == "\"a\\\"\\\\\\u0001\u00e9\"", "strings escaped on the way out");
        Check(JsonValue.Parse("{\"x\":[1,{\"y\":2}]}").Equals(JsonValue.Parse("{ \"x\" : [ 1 , { \"y\" : 2 } ] }")), "structural equality");
        Check(!JsonValue.Parse("1.0").Equals(JsonValue.Parse("1")), "numbers compare by their text");
        Check(JsonValue.FromDouble(double.NaN).IsNull && JsonValue.FromDouble(0.1).NumberText == "0.1", "doubles");
        Throws<ArgumentNullException>(() => JsonValue.Parse(null), "null text");
    }

    static void FormDataTests()
    {
        var entry = FormDataEntry.Parse("{\"data\":\"not json\",\"formId\":1}");
        Check(entry.Data.Raw == "not json" && entry.Data.Fields == null && entry.Data.Error.Contains("not valid JSON"), "undecodable form data kept raw with the reason");
        Check(entry.ToJson().AsObject["data"].AsString == "not json", "and written back as it came");
        Check(FormData.Parse("[1]").Error.Contains("not a JSON object"), "form data that is not an object");
        var ok = FormData.Parse(" {\"field1\":\"x\",\"field2\":2} ");
        Check(ok.Error == null && ok.Fields.Count == 2 && ok.Raw == " {\"field1\":\"x\",\"field2\":2} ", "form data raw byte for byte");
        var made = FormData.FromFields(JsonValue.Parse("{\"a\":1}").AsObject);
        Check(made.Raw == "{\"a\":1}" && made.Fields["a"].ToInt64() == 1, "FromFields");
    }

    // ---- the library's own JSON ----

    static void Live(SafeTrackerClient client)
    {
        string itemJson = client.CallJson("item_by_seq", "{\"seq\":1}");
        Item item = client.GetItemBySequence(1);
        Check(item != null && item.SequentialOrgId == 1 && item.Id > 0 && item.Description != null, "a live item, typed");
        if (item != null) Check(item.ToJson().Equals(JsonValue.Parse(itemJson)), "a live item: ToJson is the library's JSON: " + item.ToJson());
        using (var poller = new Poller(client, new PollerOptions { UnsafeMinInterval = TimeSpan.Zero }))
        {
            int records = 0, bad = 0;
            using (SweepEnumerator<ItemRecord> e = poller.SweepAsync().GetAsyncEnumerator())
            {
                while (e.MoveNext())
                {
                    records++;
                    ItemRecord rec = e.Current;
                    JsonValue wire = JsonValue.Parse(e.CurrentJson);
                    bool ok = rec.OrganizationId == 1 && rec.Key.OrganizationId == 1 && rec.Item.SequentialOrgId == rec.SequentialOrgId
                              && rec.Key.ItemId == rec.Item.Id && rec.ToJson().Equals(wire);
                    if (!ok) { bad++; Check(false, "a live record through ItemRecord: " + wire + " vs " + rec.ToJson()); }
                }
            }
            Check(records > 0 && bad == 0, "live records through ItemRecord (" + records + ")");
            SweepReport report = poller.LastReport();
            SweepSummary summary = report.Summary;
            Check(summary.Items == records && summary.Outcome.Outcome == SweepOutcome.Completed && summary.Finished.Value != null,
                  "the report's summary: " + summary.ToJson());
            int events = 0;
            foreach (PollerEvent ev in report.Events)
            {
                events++;
                Check(PollerEvent.FromJson(ev.ToJson()).ToJson().Equals(ev.ToJson()), "a live event written back: " + ev.ToJson());
                if (ev.Event == PollerEvent.DuplicateNumber) Check(ev.Ids.Count >= 2, "a duplicate_number event names its ids");
            }
            Check(events > 0, "the report's events decode (" + events + ")");
            PollerStatus status = poller.Status();
            Check(status.Cursor > 1 && status.LastSweep != null && status.LastSweep.Items == records && status.Stream == "items",
                  "a live status, typed: " + status.ToJson());
        }
    }

    /// <summary>Every model check above, as one test of the runner.</summary>
    [Test]
    static void EveryModelCheck()
    {
        var failures = new List<string>();
        int checks = 0;
        using (SafeTrackerClient client = Simulator.Fresh(1, 20).Client(1))
            Run(client, (ok, what) => { checks++; if (!ok) failures.Add(what); });
        Assert.True(failures.Count == 0, failures.Count + " of " + checks + " model checks failed:\n  " + string.Join("\n  ", failures));
        Assert.True(checks > 300, "the model checks ran: " + checks);
    }
}
