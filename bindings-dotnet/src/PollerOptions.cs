using System;
using System.Collections.Generic;
using System.Globalization;

namespace SafeTracker
{
    /// <summary>What a new-items poller fetches with each item, besides the item.</summary>
    [Flags]
    public enum Expansion
    {
        /// <summary>The item only.</summary>
        None = 0,
        /// <summary>Its custom form data.</summary>
        FormData = 1,
        /// <summary>Its primary case.</summary>
        Case = 2,
        /// <summary>The people of its primary case.</summary>
        People = 4,
        /// <summary>Its chain of custody.</summary>
        Custody = 8,
        /// <summary>All of the above.</summary>
        All = FormData | Case | People | Custody,
    }

    /// <summary>The settings of a new-items <see cref="Poller"/> (the same as the other
    /// languages'); null keeps the core's default.</summary>
    public sealed class PollerOptions
    {
        /// <summary>The first sequential org id of a poller without a checkpoint (default 1).</summary>
        public long? StartSeq { get; set; }
        /// <summary>Blank numbers in a row before a sweep ends (the later ones are kept as holes).</summary>
        public int? GapTolerance { get; set; }
        /// <summary>How long a hole is re-probed before it is given up.</summary>
        public TimeSpan? HoleMaxAge { get; set; }
        /// <summary>Numbers fetched ahead of the one being delivered.</summary>
        public int? ReadAhead { get; set; }
        /// <summary>What is fetched with each item.</summary>
        public Expansion? Expand { get; set; }
        /// <summary>Time between sweep starts of <see cref="PollerBase{TRecord}.RunForeverAsync"/>.</summary>
        public TimeSpan? Interval { get; set; }
        /// <summary>Random time added to each interval.</summary>
        public TimeSpan? Jitter { get; set; }
        /// <summary>Lowers the 60-second floor between sweeps: for tests against the simulator only.</summary>
        public TimeSpan? UnsafeMinInterval { get; set; }
        /// <summary>Sweeps stopped at the same blank number before the poller reports it stalled.</summary>
        public int? StallAfterSweeps { get; set; }
        /// <summary>Whether a stalled poller probes past the blank number.</summary>
        public bool? JumpStalls { get; set; }

        internal string ToJson()
        {
            var o = new JsonObject();
            if (StartSeq.HasValue)
            {
                if (StartSeq.Value < 0) throw new ArgumentOutOfRangeException("StartSeq", StartSeq, "is not negative");
                o.Add("start_seq", JsonValue.FromInt64(StartSeq.Value));
            }
            OptionJson.Count(o, "gap_tolerance", "GapTolerance", GapTolerance);
            OptionJson.Seconds(o, "hole_max_age", HoleMaxAge);
            OptionJson.Count(o, "read_ahead", "ReadAhead", ReadAhead);
            if (Expand.HasValue)
            {
                var names = new List<JsonValue>();
                Expansion e = Expand.Value;
                if ((e & Expansion.FormData) != 0) names.Add(JsonValue.FromString("form_data"));
                if ((e & Expansion.Case) != 0) names.Add(JsonValue.FromString("case"));
                if ((e & Expansion.People) != 0) names.Add(JsonValue.FromString("people"));
                if ((e & Expansion.Custody) != 0) names.Add(JsonValue.FromString("custody"));
                o.Add("expand", JsonValue.FromArray(names));
            }
            OptionJson.Seconds(o, "interval", Interval);
            OptionJson.Seconds(o, "jitter", Jitter);
            OptionJson.Seconds(o, "unsafe_min_interval", UnsafeMinInterval);
            OptionJson.Count(o, "stall_after_sweeps", "StallAfterSweeps", StallAfterSweeps);
            if (JumpStalls.HasValue) o.Add("jump_stalls", JsonValue.FromBool(JumpStalls.Value));
            return JsonValue.FromObject(o).ToString();
        }
    }

    /// <summary>The settings of an <see cref="UpdatedPoller"/>; null keeps the core's default.</summary>
    public sealed class UpdatedPollerOptions
    {
        /// <summary>Where a poller without a checkpoint starts.</summary>
        public DateTimeOffset? Since { get; set; }
        /// <summary>How far each sweep reaches back before the last change seen.</summary>
        public TimeSpan? Overlap { get; set; }
        /// <summary>Items per page.</summary>
        public int? PageSize { get; set; }
        /// <summary>Time between sweep starts of <see cref="PollerBase{TRecord}.RunForeverAsync"/>.</summary>
        public TimeSpan? Interval { get; set; }
        /// <summary>Random time added to each interval.</summary>
        public TimeSpan? Jitter { get; set; }
        /// <summary>Lowers the floor between sweeps: for tests against the simulator only.</summary>
        public TimeSpan? UnsafeMinInterval { get; set; }

        internal string ToJson()
        {
            var o = new JsonObject();
            if (Since.HasValue) o.Add("since", JsonValue.FromString(Since.Value.ToString("o", CultureInfo.InvariantCulture)));
            OptionJson.Seconds(o, "overlap", Overlap);
            OptionJson.Count(o, "page_size", "PageSize", PageSize);
            OptionJson.Seconds(o, "interval", Interval);
            OptionJson.Seconds(o, "jitter", Jitter);
            OptionJson.Seconds(o, "unsafe_min_interval", UnsafeMinInterval);
            return JsonValue.FromObject(o).ToString();
        }
    }

    /// <summary>The poller options' JSON (seconds), as the core reads it.</summary>
    internal static class OptionJson
    {
        internal static void Seconds(JsonObject o, string key, TimeSpan? t)
        {
            if (t.HasValue) o.Add(key, JsonValue.FromDouble(t.Value.TotalSeconds));
        }

        internal static void Count(JsonObject o, string key, string name, int? n)
        {
            if (!n.HasValue) return;
            if (n.Value < 0) throw new ArgumentOutOfRangeException(name, n, "is not negative");
            o.Add(key, JsonValue.FromInt64(n.Value));
        }
    }
}
