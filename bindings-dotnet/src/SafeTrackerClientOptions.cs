using System;
using System.Collections.Generic;
using System.Globalization;

namespace SafeTracker
{
    /// <summary>The settings of a <see cref="SafeTrackerClient"/>: the same ones as the Rust,
    /// Python and Node clients. A property left null keeps the core's default (or, with
    /// <see cref="SafeTrackerClient.FromEnvironment"/>, the <c>SAFE_*</c> variable's value).
    /// <see cref="ToString"/> never shows the token.</summary>
    public sealed class SafeTrackerClientOptions
    {
        /// <summary>The API root (default <c>https://securelb.trackerproducts.com/api/</c>).</summary>
        public string BaseUrl { get; set; }
        /// <summary>The static API token (required).</summary>
        public string Token { get; set; }
        /// <summary>The organisation id (required).</summary>
        public long? OrganizationId { get; set; }
        /// <summary>The office id (required).</summary>
        public long? OfficeId { get; set; }
        /// <summary>Send <c>StaticToken: true</c> (default true).</summary>
        public bool? StaticToken { get; set; }
        /// <summary>Connect timeout.</summary>
        public TimeSpan? ConnectTimeout { get; set; }
        /// <summary>Timeout of one attempt (default 30 s).</summary>
        public TimeSpan? AttemptTimeout { get; set; }
        /// <summary>Timeout of a whole call, retries included.</summary>
        public TimeSpan? CallTimeout { get; set; }
        /// <summary>Attempts per call (default 4).</summary>
        public int? MaxAttempts { get; set; }
        /// <summary>First back-off between attempts.</summary>
        public TimeSpan? BackoffBase { get; set; }
        /// <summary>Longest back-off between attempts.</summary>
        public TimeSpan? BackoffMax { get; set; }
        /// <summary>Longest <c>Retry-After</c> the client sleeps before it gives up with
        /// <see cref="RateLimitedException"/>.</summary>
        public TimeSpan? RetryAfterCap { get; set; }
        /// <summary>Requests per second (default 2); 0 disables pacing (loopback tests only).</summary>
        public double? RequestsPerSecond { get; set; }
        /// <summary>Requests that may go at once before pacing applies.</summary>
        public int? Burst { get; set; }
        /// <summary>A fraction kept below the rate (e.g. 0.02).</summary>
        public double? PacingSafetyMargin { get; set; }
        /// <summary>Most requests per minute (<see cref="BudgetExhaustedException"/> past it).</summary>
        public int? BudgetPerMinute { get; set; }
        /// <summary>Most requests per hour.</summary>
        public int? BudgetPerHour { get; set; }
        /// <summary>Most requests per day.</summary>
        public int? BudgetPerDay { get; set; }
        /// <summary>An explicit proxy URL.</summary>
        public string Proxy { get; set; }
        /// <summary>Hosts that bypass the proxy (comma-separated).</summary>
        public string NoProxy { get; set; }
        /// <summary>Read the proxy from the environment's <c>HTTPS_PROXY</c>/<c>NO_PROXY</c>.</summary>
        public bool? ProxyFromEnvironment { get; set; }
        /// <summary>A PEM file of extra CA certificates.</summary>
        public string CaFile { get; set; }
        /// <summary>Route template overrides by name, e.g. <c>item_form_data</c> →
        /// <c>formdata/{id}</c> (where a SAFE deployment differs).</summary>
        public IDictionary<string, string> Routes { get; set; }
        /// <summary>The largest response body accepted (bytes).</summary>
        public long? MaxBodyBytes { get; set; }
        /// <summary>The search field of the updated-items feed.</summary>
        public string UpdatedItemsField { get; set; }
        /// <summary>Allow plain http to a host that is not loopback (never in production).</summary>
        public bool? AllowInsecureHttp { get; set; }

        /// <summary>The settings, never the token.</summary>
        public override string ToString()
        {
            return "SafeTrackerClientOptions(BaseUrl=" + (BaseUrl ?? "default") + ", OrganizationId=" + OrganizationId
                   + ", OfficeId=" + OfficeId + ", Token=" + (Token == null ? "unset" : "***") + ")";
        }

        /// <summary>Every setting but the five the C struct carries, as the host JSON keys
        /// (durations in milliseconds).</summary>
        internal JsonObject ExtraJson(bool fromEnvironment)
        {
            var o = new JsonObject();
            o.Add("host_language", JsonValue.FromString("csharp"));
            if (fromEnvironment) o.Add("from_env", JsonValue.True);
            Flag(o, "static_token", StaticToken);
            Millis(o, "connect_timeout_ms", "ConnectTimeout", ConnectTimeout, false);
            Millis(o, "call_timeout_ms", "CallTimeout", CallTimeout, false);
            Millis(o, "base_delay_ms", "BackoffBase", BackoffBase, true);
            Millis(o, "max_delay_ms", "BackoffMax", BackoffMax, true);
            Millis(o, "retry_after_cap_ms", "RetryAfterCap", RetryAfterCap, true);
            Count(o, "burst", "Burst", Burst);
            if (PacingSafetyMargin.HasValue) o.Add("pacing_safety_margin", Finite("PacingSafetyMargin", PacingSafetyMargin.Value));
            Count(o, "budget_per_minute", "BudgetPerMinute", BudgetPerMinute);
            Count(o, "budget_per_hour", "BudgetPerHour", BudgetPerHour);
            Count(o, "budget_per_day", "BudgetPerDay", BudgetPerDay);
            Text(o, "proxy", Proxy);
            Text(o, "no_proxy", NoProxy);
            Flag(o, "proxy_from_env", ProxyFromEnvironment);
            if (Routes != null)
            {
                var routes = new JsonObject();
                foreach (var kv in Routes) routes.Add(kv.Key, JsonValue.FromString(kv.Value));
                o.Add("routes", JsonValue.FromObject(routes));
            }
            if (MaxBodyBytes.HasValue)
            {
                if (MaxBodyBytes.Value < 0) throw Invalid("MaxBodyBytes must not be negative");
                o.Add("max_body_bytes", JsonValue.FromInt64(MaxBodyBytes.Value));
            }
            Text(o, "updated_items_field", UpdatedItemsField);
            Flag(o, "allow_insecure_http", AllowInsecureHttp);
            return o;
        }

        /// <summary>The C struct: base URL, token, ids, rate, attempts, attempt timeout and CA file
        /// (strings allocated here: free them with <see cref="FreeConfig"/>).</summary>
        internal ClientConfig NativeConfig(bool fromEnvironment)
        {
            if (OrganizationId.HasValue && OrganizationId.Value <= 0) throw Invalid("OrganizationId must be positive");
            if (OfficeId.HasValue && OfficeId.Value <= 0) throw Invalid("OfficeId must be positive");
            if (MaxAttempts.HasValue && MaxAttempts.Value <= 0) throw Invalid("MaxAttempts must be positive");
            if (!fromEnvironment && Token == null) throw Invalid("a token is required (SafeTrackerClientOptions.Token)");
            var c = new ClientConfig();
            c.OrganizationId = (ulong)(OrganizationId ?? 0);
            c.OfficeId = (ulong)(OfficeId ?? 0);
            c.RequestsPerSecond = RequestsPerSecond.HasValue ? Finite("RequestsPerSecond", RequestsPerSecond.Value).ToDouble() : -1;
            if (RequestsPerSecond.HasValue && RequestsPerSecond.Value < 0) throw Invalid("RequestsPerSecond must not be negative");
            c.MaxAttempts = (uint)(MaxAttempts ?? 0);
            c.AttemptTimeoutMs = AttemptTimeout.HasValue ? (ulong)PositiveMillis("AttemptTimeout", AttemptTimeout.Value) : 0;
            string extra = JsonValue.FromObject(ExtraJson(fromEnvironment)).ToString();
            c.BaseUrl = Utf8.Alloc(BaseUrl);
            c.Token = Utf8.Alloc(Token);
            c.CaFile = Utf8.Alloc(CaFile);
            c.OptionsJson = Utf8.Alloc(extra);
            return c;
        }

        internal static void FreeConfig(ClientConfig c)
        {
            Utf8.Free(c.BaseUrl);
            Utf8.Free(c.Token);
            Utf8.Free(c.CaFile);
            Utf8.Free(c.OptionsJson);
        }

        static SafeTrackerException Invalid(string message)
        {
            return SafeTrackerException.Of(ErrorCode.InvalidConfig, message);
        }

        static JsonValue Finite(string name, double v)
        {
            if (double.IsNaN(v) || double.IsInfinity(v)) throw Invalid(name + " must be a finite number, not " + v.ToString(CultureInfo.InvariantCulture));
            return JsonValue.FromDouble(v);
        }

        static long PositiveMillis(string name, TimeSpan t)
        {
            if (t <= TimeSpan.Zero) throw Invalid(name + " must be positive");
            return Math.Max(1, (long)Math.Round(t.TotalMilliseconds));
        }

        static void Millis(JsonObject o, string key, string name, TimeSpan? t, bool zeroAllowed)
        {
            if (!t.HasValue) return;
            if (zeroAllowed && t.Value == TimeSpan.Zero) o.Add(key, JsonValue.FromInt64(0));
            else o.Add(key, JsonValue.FromInt64(PositiveMillis(name, t.Value)));
        }

        static void Count(JsonObject o, string key, string name, int? n)
        {
            if (!n.HasValue) return;
            if (n.Value < 0) throw Invalid(name + " must not be negative");
            o.Add(key, JsonValue.FromInt64(n.Value));
        }

        static void Flag(JsonObject o, string key, bool? b)
        {
            if (b.HasValue) o.Add(key, JsonValue.FromBool(b.Value));
        }

        static void Text(JsonObject o, string key, string s)
        {
            if (s != null) o.Add(key, JsonValue.FromString(s));
        }
    }
}
