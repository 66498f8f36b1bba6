// Hand-written support for the generated model classes (Models.cs, `make codegen`):
//  * JsonValue / JsonObject: a strict JSON parser (RFC 8259) to a tree. Objects keep their key
//    order; numbers keep their text, so an int64 id is exact and nothing is rounded on the way
//    back. Bad input is a FormatException naming the line and column, never a crash (nesting is
//    capped, so no stack overflow).
//  * Wire: the readers and writers the generated FromJson/ToJson call. A value of the wrong type
//    is a FormatException naming its path (Item.formData[0].formId).
//  * SafeDateTime and FormData: the schema's two hand-written types (raw text always kept).
//  * WireNameAttribute: the wire name of each generated property (for tools and tests; the
//    readers do not look at it).
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace SafeTracker
{
    /// <summary>The kind of a <see cref="JsonValue"/>.</summary>
    public enum JsonKind
    {
        /// <summary>JSON <c>null</c>.</summary>
        Null,
        /// <summary><c>true</c> or <c>false</c>.</summary>
        Bool,
        /// <summary>A number (its text kept exactly).</summary>
        Number,
        /// <summary>A string.</summary>
        String,
        /// <summary>An array.</summary>
        Array,
        /// <summary>An object (keys in order).</summary>
        Object,
    }

    /// <summary>A JSON value: null, a boolean, a number (its text, exactly as written), a string,
    /// an array or an object (<see cref="JsonObject"/>, in key order).</summary>
    public sealed class JsonValue : IEquatable<JsonValue>
    {
        /// <summary>The JSON <c>null</c>.</summary>
        public static readonly JsonValue Null = new JsonValue(JsonKind.Null, null);
        /// <summary>The JSON <c>true</c>.</summary>
        public static readonly JsonValue True = new JsonValue(JsonKind.Bool, true);
        /// <summary>The JSON <c>false</c>.</summary>
        public static readonly JsonValue False = new JsonValue(JsonKind.Bool, false);

        // bool, string (a string's value or a number's text), IReadOnlyList<JsonValue>, JsonObject
        readonly object value;

        JsonValue(JsonKind kind, object value) { Kind = kind; this.value = value; }

        /// <summary>What kind of value this is.</summary>
        public JsonKind Kind { get; }
        /// <summary>True for JSON <c>null</c>.</summary>
        public bool IsNull { get { return Kind == JsonKind.Null; } }

        /// <summary>The boolean (<see cref="InvalidOperationException"/> for another kind).</summary>
        public bool AsBool { get { return (bool)As(JsonKind.Bool); } }
        /// <summary>The string (<see cref="InvalidOperationException"/> for another kind).</summary>
        public string AsString { get { return (string)As(JsonKind.String); } }
        /// <summary>A number's text as it was written (<c>1018</c>, <c>-89.6501</c>, <c>1e3</c>).</summary>
        public string NumberText { get { return (string)As(JsonKind.Number); } }
        /// <summary>The array's values (<see cref="InvalidOperationException"/> for another kind).</summary>
        public IReadOnlyList<JsonValue> AsArray { get { return (IReadOnlyList<JsonValue>)As(JsonKind.Array); } }
        /// <summary>The object's members (<see cref="InvalidOperationException"/> for another kind).</summary>
        public JsonObject AsObject { get { return (JsonObject)As(JsonKind.Object); } }

        object As(JsonKind kind)
        {
            if (Kind != kind) throw new InvalidOperationException("a JSON " + Kind + ", not " + kind);
            return value;
        }

        /// <summary>A JSON boolean.</summary>
        public static JsonValue FromBool(bool b) { return b ? True : False; }
        /// <summary>A string value (null gives <see cref="Null"/>).</summary>
        public static JsonValue FromString(string s) { return s == null ? Null : new JsonValue(JsonKind.String, s); }
        /// <summary>A JSON integer.</summary>
        public static JsonValue FromInt64(long n) { return new JsonValue(JsonKind.Number, n.ToString(CultureInfo.InvariantCulture)); }
        /// <summary>A number (shortest text that reads back the same); NaN and infinities have no
        /// JSON form and give <see cref="Null"/>, as serde_json writes them.</summary>
        public static JsonValue FromDouble(double d)
        {
            if (double.IsNaN(d) || double.IsInfinity(d)) return Null;
            return new JsonValue(JsonKind.Number, d.ToString("R", CultureInfo.InvariantCulture));
        }
        /// <summary>A number from its JSON text (checked: a <see cref="FormatException"/> otherwise).</summary>
        public static JsonValue FromNumberText(string text)
        {
            JsonValue v = Parse(text);
            if (v.Kind != JsonKind.Number) throw new FormatException("not a JSON number: " + text);
            return v;
        }
        /// <summary>A number from text the parser has checked.</summary>
        internal static JsonValue Number(string checkedText) { return new JsonValue(JsonKind.Number, checkedText); }
        /// <summary>A JSON array of <paramref name="items"/>.</summary>
        public static JsonValue FromArray(IEnumerable<JsonValue> items)
        {
            var list = new List<JsonValue>();
            foreach (var item in items) list.Add(item ?? Null);
            return new JsonValue(JsonKind.Array, list.AsReadOnly());
        }
        /// <summary>A JSON object of <paramref name="members"/>.</summary>
        public static JsonValue FromObject(JsonObject members)
        {
            if (members == null) throw new ArgumentNullException("members");
            return new JsonValue(JsonKind.Object, members);
        }

        /// <summary>Parses one JSON text (RFC 8259, nothing else: no comments, no trailing commas,
        /// no lone surrogates). Bad input is a <see cref="FormatException"/>.</summary>
        public static JsonValue Parse(string text)
        {
            if (text == null) throw new ArgumentNullException("text");
            return new JsonParser(text).ParseDocument();
        }

        /// <summary>A number as an int64, exactly (a <see cref="FormatException"/> for a fraction, an
        /// exponent, a value out of range or a value that is not a number).</summary>
        public long ToInt64()
        {
            long n;
            if (Kind == JsonKind.Number
                && long.TryParse((string)value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out n))
                return n;
            throw new FormatException("not an int64: " + Describe(this));
        }

        /// <summary>The number as a <see cref="double"/> (<see cref="FormatException"/> when it is not finite).</summary>
        public double ToDouble()
        {
            double d;
            if (Kind == JsonKind.Number
                && double.TryParse((string)value, NumberStyles.Float, CultureInfo.InvariantCulture, out d)
                && !double.IsInfinity(d))
                return d;
            throw new FormatException("not a finite number: " + Describe(this));
        }

        /// <summary>Compact JSON text.</summary>
        public override string ToString()
        {
            var sb = new StringBuilder();
            WriteTo(sb);
            return sb.ToString();
        }

        /// <summary>Appends the compact JSON text to <paramref name="sb"/>.</summary>
        public void WriteTo(StringBuilder sb)
        {
            switch (Kind)
            {
                case JsonKind.Null: sb.Append("null"); break;
                case JsonKind.Bool: sb.Append((bool)value ? "true" : "false"); break;
                case JsonKind.Number: sb.Append((string)value); break;
                case JsonKind.String: WriteString(sb, (string)value); break;
                case JsonKind.Array:
                    sb.Append('[');
                    var items = (IReadOnlyList<JsonValue>)value;
                    for (int i = 0; i < items.Count; i++)
                    {
                        if (i > 0) sb.Append(',');
                        items[i].WriteTo(sb);
                    }
                    sb.Append(']');
                    break;
                default:
                    sb.Append('{');
                    bool first = true;
                    foreach (var kv in (JsonObject)value)
                    {
                        if (!first) sb.Append(',');
                        first = false;
                        WriteString(sb, kv.Key);
                        sb.Append(':');
                        kv.Value.WriteTo(sb);
                    }
                    sb.Append('}');
                    break;
            }
        }

        static void WriteString(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\b': sb.Append("\\b"); break;
                    case '\f': sb.Append("\\f"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4"));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }

        /// <summary>Structural equality: objects as unordered maps, numbers by their text.</summary>
        public bool Equals(JsonValue other)
        {
            if (ReferenceEquals(this, other)) return true;
            if (other == null || other.Kind != Kind) return false;
            switch (Kind)
            {
                case JsonKind.Null: return true;
                case JsonKind.Bool: return (bool)value == (bool)other.value;
                case JsonKind.Number:
                case JsonKind.String: return string.Equals((string)value, (string)other.value, StringComparison.Ordinal);
                case JsonKind.Array:
                    var a = AsArray; var b = other.AsArray;
                    if (a.Count != b.Count) return false;
                    for (int i = 0; i < a.Count; i++) if (!a[i].Equals(b[i])) return false;
                    return true;
                default:
                    var x = AsObject; var y = other.AsObject;
                    if (x.Count != y.Count) return false;
                    foreach (var kv in x)
                    {
                        JsonValue w;
                        if (!y.TryGetValue(kv.Key, out w) || !kv.Value.Equals(w)) return false;
                    }
                    return true;
            }
        }

        /// <summary>Equal JSON values (numbers by their text).</summary>
        public override bool Equals(object obj) { return Equals(obj as JsonValue); }

        /// <summary>A hash consistent with <see cref="Equals(object)"/>.</summary>
        public override int GetHashCode()
        {
            switch (Kind)
            {
                case JsonKind.Null: return 0;
                case JsonKind.Bool:
                case JsonKind.Number:
                case JsonKind.String: return value.GetHashCode();
                case JsonKind.Array:
                    int h = 17;
                    foreach (var item in AsArray) h = h * 31 + item.GetHashCode();
                    return h;
                default:
                    int o = 19;
                    foreach (var kv in AsObject) o ^= kv.Key.GetHashCode() * 31 + kv.Value.GetHashCode(); // order-free
                    return o;
            }
        }

        /// <summary>A short description for error messages: the kind and the start of the text.</summary>
        internal static string Describe(JsonValue v)
        {
            if (v == null) return "nothing";
            string text = v.ToString();
            if (text.Length > 40) text = text.Substring(0, 37) + "...";
            return v.Kind.ToString().ToLowerInvariant() + " " + text;
        }
    }

    /// <summary>A JSON object: string keys in insertion order (a key set again keeps its place).
    /// Also the type of every model's <c>Extra</c>.</summary>
    public sealed class JsonObject : IDictionary<string, JsonValue>, IReadOnlyDictionary<string, JsonValue>
    {
        readonly List<KeyValuePair<string, JsonValue>> entries = new List<KeyValuePair<string, JsonValue>>();
        readonly Dictionary<string, int> index = new Dictionary<string, int>(StringComparer.Ordinal);

        /// <summary>How many members.</summary>
        public int Count { get { return entries.Count; } }
        /// <summary>False: members may be added.</summary>
        public bool IsReadOnly { get { return false; } }

        /// <summary>The value of <paramref name="key"/>; setting it replaces the value in place or
        /// appends the key (a C# null is stored as <see cref="JsonValue.Null"/>).</summary>
        public JsonValue this[string key]
        {
            get { return entries[index[key]].Value; }
            set
            {
                if (key == null) throw new ArgumentNullException("key");
                var entry = new KeyValuePair<string, JsonValue>(key, value ?? JsonValue.Null);
                int at;
                if (index.TryGetValue(key, out at)) entries[at] = entry;
                else { index[key] = entries.Count; entries.Add(entry); }
            }
        }

        /// <summary>Adds a member (<see cref="ArgumentException"/> when <paramref name="key"/> is there already).</summary>
        public void Add(string key, JsonValue value)
        {
            if (key != null && index.ContainsKey(key)) throw new ArgumentException("duplicate key: " + key, "key");
            this[key] = value;
        }

        /// <summary>True when <paramref name="key"/> is a member.</summary>
        public bool ContainsKey(string key) { return index.ContainsKey(key); }

        /// <summary>The member <paramref name="key"/>, when there is one.</summary>
        public bool TryGetValue(string key, out JsonValue value)
        {
            int at;
            if (index.TryGetValue(key, out at)) { value = entries[at].Value; return true; }
            value = null;
            return false;
        }

        /// <summary>Removes member <paramref name="key"/>; false when there was none.</summary>
        public bool Remove(string key)
        {
            int at;
            if (!index.TryGetValue(key, out at)) return false;
            entries.RemoveAt(at);
            index.Remove(key);
            for (int i = at; i < entries.Count; i++) index[entries[i].Key] = i;
            return true;
        }

        /// <summary>Removes every member.</summary>
        public void Clear() { entries.Clear(); index.Clear(); }

        /// <summary>The keys, in order.</summary>
        public ICollection<string> Keys
        {
            get { var keys = new List<string>(entries.Count); foreach (var e in entries) keys.Add(e.Key); return keys.AsReadOnly(); }
        }

        /// <summary>The values, in order.</summary>
        public ICollection<JsonValue> Values
        {
            get { var values = new List<JsonValue>(entries.Count); foreach (var e in entries) values.Add(e.Value); return values.AsReadOnly(); }
        }

        IEnumerable<string> IReadOnlyDictionary<string, JsonValue>.Keys { get { return Keys; } }
        IEnumerable<JsonValue> IReadOnlyDictionary<string, JsonValue>.Values { get { return Values; } }

        /// <summary>The members, in order.</summary>
        public IEnumerator<KeyValuePair<string, JsonValue>> GetEnumerator() { return entries.GetEnumerator(); }
        IEnumerator IEnumerable.GetEnumerator() { return GetEnumerator(); }

        void ICollection<KeyValuePair<string, JsonValue>>.Add(KeyValuePair<string, JsonValue> item) { Add(item.Key, item.Value); }

        bool ICollection<KeyValuePair<string, JsonValue>>.Contains(KeyValuePair<string, JsonValue> item)
        {
            JsonValue v;
            return TryGetValue(item.Key, out v) && Equals(v, item.Value);
        }

        void ICollection<KeyValuePair<string, JsonValue>>.CopyTo(KeyValuePair<string, JsonValue>[] array, int arrayIndex)
        {
            entries.CopyTo(array, arrayIndex);
        }

        bool ICollection<KeyValuePair<string, JsonValue>>.Remove(KeyValuePair<string, JsonValue> item)
        {
            return ((ICollection<KeyValuePair<string, JsonValue>>)this).Contains(item) && Remove(item.Key);
        }
    }

    /// <summary>The recursive-descent parser behind <see cref="JsonValue.Parse"/>.</summary>
    sealed class JsonParser
    {
        const int MaxDepth = 128; // as serde_json: deeper input is refused, not a stack overflow
        readonly string s;
        int i, depth;

        internal JsonParser(string text) { s = text; }

        internal JsonValue ParseDocument()
        {
            SkipSpace();
            JsonValue v = ParseValue();
            SkipSpace();
            if (i != s.Length) throw Fail("text after the JSON value");
            return v;
        }

        FormatException Fail(string what)
        {
            int line = 1, column = 1;
            for (int k = 0; k < i && k < s.Length; k++)
            {
                if (s[k] == '\n') { line++; column = 1; } else column++;
            }
            return new FormatException("invalid JSON at line " + line + ", column " + column + ": " + what);
        }

        void SkipSpace()
        {
            while (i < s.Length && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
        }

        JsonValue ParseValue()
        {
            if (i >= s.Length) throw Fail("unexpected end of the text");
            char c = s[i];
            switch (c)
            {
                case '{': return ParseObject();
                case '[': return ParseArray();
                case '"': return JsonValue.FromString(ParseString());
                case 't': Literal("true"); return JsonValue.True;
                case 'f': Literal("false"); return JsonValue.False;
                case 'n': Literal("null"); return JsonValue.Null;
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber();
                    throw Fail("unexpected character '" + c + "'");
            }
        }

        void Literal(string word)
        {
            if (string.CompareOrdinal(s, i, word, 0, word.Length) != 0) throw Fail("unexpected characters (expected " + word + ")");
            i += word.Length;
        }

        void Enter()
        {
            if (++depth > MaxDepth) throw Fail("nested more than " + MaxDepth + " levels deep");
            i++; // the opening bracket
            SkipSpace();
        }

        JsonValue ParseObject()
        {
            Enter();
            var members = new JsonObject();
            if (i < s.Length && s[i] == '}') { i++; depth--; return JsonValue.FromObject(members); }
            while (true)
            {
                if (i >= s.Length || s[i] != '"') throw Fail("expected a key (a string)");
                string key = ParseString();
                SkipSpace();
                if (i >= s.Length || s[i] != ':') throw Fail("expected ':'");
                i++;
                SkipSpace();
                members[key] = ParseValue(); // a repeated key keeps the last value, as serde_json does
                SkipSpace();
                if (i < s.Length && s[i] == ',') { i++; SkipSpace(); continue; }
                if (i < s.Length && s[i] == '}') { i++; depth--; return JsonValue.FromObject(members); }
                throw Fail("expected ',' or '}'");
            }
        }

        JsonValue ParseArray()
        {
            Enter();
            var items = new List<JsonValue>();
            if (i < s.Length && s[i] == ']') { i++; depth--; return JsonValue.FromArray(items); }
            while (true)
            {
                items.Add(ParseValue());
                SkipSpace();
                if (i < s.Length && s[i] == ',') { i++; SkipSpace(); continue; }
                if (i < s.Length && s[i] == ']') { i++; depth--; return JsonValue.FromArray(items); }
                throw Fail("expected ',' or ']'");
            }
        }

        bool Digit() { return i < s.Length && s[i] >= '0' && s[i] <= '9'; }

        JsonValue ParseNumber()
        {
            int start = i;
            if (s[i] == '-') i++;
            if (!Digit()) throw Fail("expected a digit");
            if (s[i] == '0') i++;
            else while (Digit()) i++;
            if (i < s.Length && s[i] == '.')
            {
                i++;
                if (!Digit()) throw Fail("expected a digit after '.'");
                while (Digit()) i++;
            }
            if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
            {
                i++;
                if (i < s.Length && (s[i] == '+' || s[i] == '-')) i++;
                if (!Digit()) throw Fail("expected a digit in the exponent");
                while (Digit()) i++;
            }
            return JsonValue.Number(s.Substring(start, i - start));
        }

        string ParseString()
        {
            i++; // the opening quote
            StringBuilder sb = null;
            int run = i;
            while (true)
            {
                if (i >= s.Length) throw Fail("unterminated string");
                char c = s[i];
                if (c == '"')
                {
                    string tail = s.Substring(run, i - run);
                    i++;
                    return sb == null ? tail : sb.Append(tail).ToString();
                }
                if (c < 0x20) throw Fail("a control character in a string (escape it)");
                if (char.IsSurrogate(c))
                {
                    if (!char.IsHighSurrogate(c) || i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]))
                        throw Fail("a lone surrogate in a string");
                    i += 2;
                    continue;
                }
                if (c != '\\') { i++; continue; }
                if (sb == null) sb = new StringBuilder();
                sb.Append(s, run, i - run);
                i++;
                if (i >= s.Length) throw Fail("unterminated escape");
                char e = s[i++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        char u = Hex4();
                        if (char.IsHighSurrogate(u))
                        {
                            if (i + 1 < s.Length && s[i] == '\\' && s[i + 1] == 'u')
                            {
                                i += 2;
                                char low = Hex4();
                                if (!char.IsLowSurrogate(low)) throw Fail("a high surrogate escape without its low half");
                                sb.Append(u).Append(low);
                            }
                            else throw Fail("a high surrogate escape without its low half");
                        }
                        else if (char.IsLowSurrogate(u)) throw Fail("a lone low surrogate escape");
                        else sb.Append(u);
                        break;
                    default:
                        i--;
                        throw Fail("unknown escape '\\" + e + "'");
                }
                run = i;
            }
        }

        char Hex4()
        {
            if (i + 4 > s.Length) throw Fail("a short \\u escape");
            int n = 0;
            for (int k = 0; k < 4; k++)
            {
                char h = s[i + k];
                int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (d < 0) throw Fail("a bad \\u escape");
                n = n * 16 + d;
            }
            i += 4;
            return (char)n;
        }
    }

    /// <summary>What every generated model is to the writers: something with a JSON form.</summary>
    internal interface IWireModel
    {
        JsonValue ToJson();
    }

    /// <summary>The wire name of a generated property (the JSON key it reads and writes).</summary>
    [AttributeUsage(AttributeTargets.Property, AllowMultiple = false, Inherited = false)]
    public sealed class WireNameAttribute : Attribute
    {
        /// <summary>Names the wire key <paramref name="name"/>.</summary>
        public WireNameAttribute(string name) { Name = name; }
        /// <summary>The key on the wire.</summary>
        public string Name { get; }
    }

    /// <summary>The readers and writers the generated <c>FromJson</c>/<c>ToJson</c> call. A reader
    /// takes the value and its path (for the error) and throws a <see cref="FormatException"/>
    /// when the value does not have the type the schema gives it; a JSON null is refused here
    /// (the generated code checks for null where the schema allows it).</summary>
    internal static class Wire
    {
        static FormatException Expected(string at, string what, JsonValue v)
        {
            return new FormatException(at + ": expected " + what + ", got " + JsonValue.Describe(v));
        }

        internal static FormatException Missing(string at, string key)
        {
            return new FormatException(at + ": the required field \"" + key + "\" is missing");
        }

        internal static FormatException NoVariant(string at, string shapes)
        {
            return new FormatException(at + ": matches none of its shapes (it needs one of: " + shapes + ")");
        }

        internal static JsonObject Object(JsonValue v, string at)
        {
            if (v == null || v.Kind != JsonKind.Object) throw Expected(at, "an object", v);
            return v.AsObject;
        }

        internal static long Long(JsonValue v, string at)
        {
            long n;
            if (v != null && v.Kind == JsonKind.Number
                && long.TryParse(v.NumberText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out n))
                return n;
            throw Expected(at, "an integer (int64)", v);
        }

        internal static double Double(JsonValue v, string at)
        {
            if (v != null && v.Kind == JsonKind.Number)
            {
                try { return v.ToDouble(); }
                catch (FormatException) { }
            }
            throw Expected(at, "a finite number", v);
        }

        internal static bool Bool(JsonValue v, string at)
        {
            if (v != null && v.Kind == JsonKind.Bool) return v.AsBool;
            throw Expected(at, "a boolean", v);
        }

        internal static string String(JsonValue v, string at)
        {
            if (v != null && v.Kind == JsonKind.String) return v.AsString;
            throw Expected(at, "a string", v);
        }

        internal static SafeDateTime Date(JsonValue v, string at)
        {
            return SafeDateTime.Parse(String(v, at)); // never refused for its text
        }

        /// <summary>Form data: a string (null reads as "", as in the core).</summary>
        internal static FormData Form(JsonValue v, string at)
        {
            return global::SafeTracker.FormData.Parse(v != null && v.IsNull ? "" : String(v, at));
        }

        internal static List<T> List<T>(JsonValue v, string at, Func<JsonValue, string, T> item)
        {
            if (v == null || v.Kind != JsonKind.Array) throw Expected(at, "a list", v);
            var items = v.AsArray;
            var list = new List<T>(items.Count);
            for (int i = 0; i < items.Count; i++) list.Add(item(items[i], at + "[" + i + "]"));
            return list;
        }

        internal static Dictionary<string, T> Map<T>(JsonValue v, string at, Func<JsonValue, string, T> item)
        {
            var map = new Dictionary<string, T>(StringComparer.Ordinal);
            foreach (var kv in Object(v, at)) map.Add(kv.Key, item(kv.Value, at + "[\"" + kv.Key + "\"]"));
            return map;
        }

        /// <summary>A fixed-length array (<c>prefixItems</c>) of exactly <paramref name="n"/> values.</summary>
        internal static R Tuple<R>(JsonValue v, string at, int n, Func<IReadOnlyList<JsonValue>, string, R> make)
        {
            if (v == null || v.Kind != JsonKind.Array || v.AsArray.Count != n) throw Expected(at, "a list of " + n, v);
            return make(v.AsArray, at);
        }

        internal static JsonValue Write(long v) { return JsonValue.FromInt64(v); }
        internal static JsonValue Write(long? v) { return v == null ? JsonValue.Null : JsonValue.FromInt64(v.Value); }
        internal static JsonValue Write(double v) { return JsonValue.FromDouble(v); }
        internal static JsonValue Write(double? v) { return v == null ? JsonValue.Null : JsonValue.FromDouble(v.Value); }
        internal static JsonValue Write(bool v) { return JsonValue.FromBool(v); }
        internal static JsonValue Write(bool? v) { return v == null ? JsonValue.Null : JsonValue.FromBool(v.Value); }
        internal static JsonValue Write(string v) { return JsonValue.FromString(v); }
        internal static JsonValue Write(SafeDateTime v) { return v == null ? JsonValue.Null : JsonValue.FromString(v.Raw); }
        internal static JsonValue Write(FormData v) { return v == null ? JsonValue.Null : JsonValue.FromString(v.Raw); }
        internal static JsonValue Write(JsonValue v) { return v ?? JsonValue.Null; }
        internal static JsonValue Write(IWireModel v) { return v == null ? JsonValue.Null : v.ToJson(); }

        internal static JsonValue WriteList<T>(IReadOnlyList<T> list, Func<T, JsonValue> item)
        {
            if (list == null) return JsonValue.Null;
            var items = new List<JsonValue>(list.Count);
            foreach (T x in list) items.Add(item(x));
            return JsonValue.FromArray(items);
        }

        internal static JsonValue WriteMap<T>(IReadOnlyDictionary<string, T> map, Func<T, JsonValue> item)
        {
            if (map == null) return JsonValue.Null;
            var o = new JsonObject();
            foreach (var kv in map) o.Add(kv.Key, item(kv.Value));
            return JsonValue.FromObject(o);
        }

        internal static JsonValue WriteTuple(params JsonValue[] items) { return JsonValue.FromArray(items); }

        /// <summary>The typed properties, then the unknown keys (a key a property wrote wins).</summary>
        internal static JsonValue Finish(JsonObject o, IDictionary<string, JsonValue> extra)
        {
            if (extra != null)
                foreach (var kv in extra)
                    if (!o.ContainsKey(kv.Key)) o.Add(kv.Key, kv.Value);
            return JsonValue.FromObject(o);
        }
    }

    /// <summary>A SAFE timestamp: ISO-8601 (<c>2020-02-13T05:00:00.000Z</c>) or
    /// <c>2017-11-29 13:25:00.000</c> (UTC when no zone is given). <see cref="Raw"/> is the text as
    /// it came and is what is written back; <see cref="Value"/> is the instant (in UTC) when the
    /// text parses, null otherwise: an unparseable date is kept, never refused.</summary>
    public sealed class SafeDateTime : IEquatable<SafeDateTime>
    {
        SafeDateTime(string raw) { Raw = raw; Value = ParseUtc(raw); }

        /// <summary>The text as it came.</summary>
        public string Raw { get; }
        /// <summary>The date, when the text parses as one (null otherwise).</summary>
        public DateTimeOffset? Value { get; }

        /// <summary>Never fails for the text (null is an <see cref="ArgumentNullException"/>).</summary>
        public static SafeDateTime Parse(string raw)
        {
            if (raw == null) throw new ArgumentNullException("raw");
            return new SafeDateTime(raw);
        }

        /// <summary>An instant, written as ISO-8601 in UTC with milliseconds (as the core writes).</summary>
        public static SafeDateTime FromValue(DateTimeOffset t)
        {
            return new SafeDateTime(t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        }

        /// <summary>The raw text.</summary>
        public override string ToString() { return Raw; }
        /// <summary>Equal raw texts.</summary>
        public bool Equals(SafeDateTime other) { return other != null && string.Equals(Raw, other.Raw, StringComparison.Ordinal); }
        /// <summary>Equal raw texts.</summary>
        public override bool Equals(object obj) { return Equals(obj as SafeDateTime); }
        /// <summary>The raw text's hash.</summary>
        public override int GetHashCode() { return Raw.GetHashCode(); }

        // What the core's SafeDateTime::parse accepts: RFC 3339 (a 'T', 't' or ' ' between date and
        // time, seconds with any fraction, then Z or ±hh:mm), or without a zone (UTC)
        // "yyyy-MM-dd HH:mm:ss[.f…]", the same with 'T', "yyyy-MM-dd HH:mm", "yyyy-MM-dd".
        static DateTimeOffset? ParseUtc(string raw)
        {
            string s = raw.Trim();
            int i = 0, year, month, day, hour = 0, minute = 0, second = 0;
            long ticks = 0;
            TimeSpan offset = TimeSpan.Zero;
            if (!Digits(s, ref i, 4, out year) || !Char(s, ref i, '-') || !Digits(s, ref i, 2, out month)
                || !Char(s, ref i, '-') || !Digits(s, ref i, 2, out day))
                return null;
            if (i < s.Length)
            {
                if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return null;
                i++;
                if (!Digits(s, ref i, 2, out hour) || !Char(s, ref i, ':') || !Digits(s, ref i, 2, out minute)) return null;
                bool seconds = Char(s, ref i, ':');
                if (seconds)
                {
                    if (!Digits(s, ref i, 2, out second)) return null;
                    if (Char(s, ref i, '.'))
                    {
                        int start = i;
                        long scale = TimeSpan.TicksPerSecond;
                        while (i < s.Length && s[i] >= '0' && s[i] <= '9')
                        {
                            scale /= 10; // digits past the seventh (100 ns) are dropped
                            ticks += (s[i] - '0') * scale;
                            i++;
                        }
                        if (i == start) return null;
                    }
                    if (i < s.Length)
                    {
                        if (s[i] == 'Z' || s[i] == 'z') i++;
                        else if (s[i] == '+' || s[i] == '-')
                        {
                            int sign = s[i] == '-' ? -1 : 1, oh, om;
                            i++;
                            if (!Digits(s, ref i, 2, out oh) || !Char(s, ref i, ':') || !Digits(s, ref i, 2, out om)) return null;
                            offset = new TimeSpan(sign * oh, sign * om, 0);
                        }
                    }
                }
            }
            if (i != s.Length) return null;
            try
            {
                return new DateTimeOffset(year, month, day, hour, minute, second, offset).AddTicks(ticks).ToUniversalTime();
            }
            catch (ArgumentException) // out of range (month 13, offset past ±14:00…), not a date
            {
                return null;
            }
        }

        static bool Digits(string s, ref int i, int n, out int value)
        {
            value = 0;
            if (i + n > s.Length) return false;
            for (int k = 0; k < n; k++)
            {
                char c = s[i + k];
                if (c < '0' || c > '9') return false;
                value = value * 10 + (c - '0');
            }
            i += n;
            return true;
        }

        static bool Char(string s, ref int i, char c)
        {
            if (i < s.Length && s[i] == c) { i++; return true; }
            return false;
        }
    }

    /// <summary>A form's values: a JSON object serialised into a string (<c>data</c> of a form-data
    /// entry). <see cref="Raw"/> is kept byte for byte and is what is written back;
    /// <see cref="Fields"/> are the decoded fields (empty for an empty or "null" text), null when
    /// the text is not a JSON object, with the reason in <see cref="Error"/> (kept, never refused).</summary>
    public sealed class FormData
    {
        FormData(string raw, IReadOnlyDictionary<string, JsonValue> fields, string error)
        {
            Raw = raw;
            Fields = fields;
            Error = error;
        }

        /// <summary>The text as it came.</summary>
        public string Raw { get; }
        /// <summary>The decoded fields, or null when the raw text is not a JSON object (see <see cref="Error"/>).</summary>
        public IReadOnlyDictionary<string, JsonValue> Fields { get; }
        /// <summary>Why the raw text did not decode, or null.</summary>
        public string Error { get; }

        /// <summary>Form data from its raw text (never refused: a text that does not decode keeps <see cref="Error"/>).</summary>
        public static FormData Parse(string raw)
        {
            raw = raw ?? "";
            string text = raw.Trim();
            if (text.Length == 0 || text == "null") return new FormData(raw, new JsonObject(), null);
            try
            {
                JsonValue v = JsonValue.Parse(text);
                if (v.Kind == JsonKind.Object) return new FormData(raw, v.AsObject, null);
                return new FormData(raw, null, "form data `data` is not a JSON object");
            }
            catch (FormatException e)
            {
                return new FormData(raw, null, "form data `data` is not valid JSON: " + e.Message);
            }
        }

        /// <summary>Form data from fields (the raw text is their compact JSON).</summary>
        public static FormData FromFields(JsonObject fields)
        {
            return new FormData(JsonValue.FromObject(fields).ToString(), fields, null);
        }
    }
}
