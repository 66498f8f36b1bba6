// Where a poller keeps its checkpoint: the core's stores (memory, file, SQLite, PostgreSQL with
// a fenced lease), or the host's own database through ICheckpointStore.
using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace SafeTracker
{
    /// <summary>Where a poller keeps its checkpoint (its cursor, holes and the other state it
    /// resumes from). One poller at a time may use a checkpoint: a second one opened on the same
    /// store and stream fails with <see cref="CheckpointException"/>.</summary>
    public abstract class CheckpointStore
    {
        internal CheckpointStore() { }

        /// <summary>Opens the native poller of <paramref name="kind"/> on this store.</summary>
        internal virtual PollerHandle Open(SafeTrackerClient client, string kind, string optionsJson)
        {
            IntPtr k = Utf8.Alloc(kind), spec = Utf8.Alloc(JsonValue.FromObject(Spec()).ToString()), o = Utf8.Alloc(optionsJson);
            try
            {
                PollerHandle h;
                SafeTrackerException.Check(Native.safe_poller_new(client.Handle, k, spec, o, out h));
                return h;
            }
            finally
            {
                Utf8.Free(k);
                Utf8.Free(spec);
                Utf8.Free(o);
            }
        }

        /// <summary>The store's spec as the library reads it.</summary>
        internal abstract JsonObject Spec();

        /// <summary>The error a failed native call gets (the host's own store adds its exception).</summary>
        internal virtual SafeTrackerException Error(ErrorCode code, Exception inner)
        {
            return SafeTrackerException.FromLastError(code, inner);
        }

        internal static JsonObject Kind(string kind)
        {
            var o = new JsonObject();
            o.Add("kind", JsonValue.FromString(kind));
            return o;
        }

        internal static string Required(string value, string name)
        {
            if (string.IsNullOrEmpty(value)) throw new ArgumentException(name + " is required", name);
            return value;
        }
    }

    /// <summary>A checkpoint in memory only: a restart starts again from the first number
    /// (tests and one-off reads).</summary>
    public sealed class MemoryCheckpointStore : CheckpointStore
    {
        internal override JsonObject Spec() { return Kind("memory"); }
    }

    /// <summary>A checkpoint in a JSON file, replaced atomically at each save.</summary>
    public sealed class FileCheckpointStore : CheckpointStore
    {
        /// <summary>The file.</summary>
        public string Path { get; private set; }

        /// <summary>A checkpoint kept in <paramref name="path"/>.</summary>
        public FileCheckpointStore(string path) { Path = Required(path, "path"); }

        internal override JsonObject Spec()
        {
            JsonObject o = Kind("file");
            o.Add("path", JsonValue.FromString(Path));
            return o;
        }
    }

    /// <summary>A checkpoint in a SQLite database file (one row per poller).</summary>
    public sealed class SqliteCheckpointStore : CheckpointStore
    {
        /// <summary>The database file.</summary>
        public string Path { get; private set; }

        /// <summary>A checkpoint kept in the SQLite database <paramref name="path"/>.</summary>
        public SqliteCheckpointStore(string path) { Path = Required(path, "path"); }

        internal override JsonObject Spec()
        {
            JsonObject o = Kind("sqlite");
            o.Add("path", JsonValue.FromString(Path));
            return o;
        }
    }

    /// <summary>A checkpoint in PostgreSQL under a fenced lease on <see cref="Unit"/>: opening the
    /// poller claims the unit (<see cref="FencedException"/> while another process holds it),
    /// the lease is renewed in the background, and a save after the lease moved on is refused
    /// (<see cref="FencedException"/>) rather than overwrite the new owner's checkpoint.</summary>
    public sealed class PostgresCheckpointStore : CheckpointStore
    {
        readonly string url;

        /// <summary>The leased unit (usually the agency's name).</summary>
        public string Unit { get; private set; }
        /// <summary>Who holds the lease (null: one id per process).</summary>
        public string Owner { get; private set; }
        /// <summary>How long the lease lasts unrenewed (null: the core's default).</summary>
        public TimeSpan? LeaseTtl { get; private set; }

        /// <summary>A checkpoint in the PostgreSQL database at <paramref name="connectionUrl"/>
        /// (<c>postgres://user:password@host/db</c>; never shown by <see cref="ToString"/>), under
        /// a lease on <paramref name="unit"/>.</summary>
        public PostgresCheckpointStore(string connectionUrl, string unit, string owner = null, TimeSpan? leaseTtl = null)
        {
            url = Required(connectionUrl, "connectionUrl");
            Unit = Required(unit, "unit");
            Owner = owner;
            if (leaseTtl.HasValue && leaseTtl.Value <= TimeSpan.Zero)
                throw new ArgumentOutOfRangeException("leaseTtl", leaseTtl, "must be positive");
            LeaseTtl = leaseTtl;
        }

        internal override JsonObject Spec()
        {
            JsonObject o = Kind("postgres");
            o.Add("url", JsonValue.FromString(url));
            o.Add("unit", JsonValue.FromString(Unit));
            if (Owner != null) o.Add("owner", JsonValue.FromString(Owner));
            if (LeaseTtl.HasValue) o.Add("lease_ttl", JsonValue.FromDouble(LeaseTtl.Value.TotalSeconds));
            return o;
        }

        /// <summary>The unit and owner, never the connection URL (it may hold a password).</summary>
        public override string ToString()
        {
            return "PostgresCheckpointStore(Unit=" + Unit + ", Owner=" + (Owner ?? "this process") + ")";
        }
    }

    /// <summary>A checkpoint the host keeps in its own database (SQL Server, say: in the same
    /// transaction as its RMS write). The texts are opaque JSON: store them as they come.</summary>
    public interface ICheckpointStore
    {
        /// <summary>The text last saved for <paramref name="key"/>, or null when there is none.
        /// Called once, on the thread that opens the poller.</summary>
        string Load(string key);

        /// <summary>Saves <paramref name="stateJson"/> for <paramref name="key"/>, durably, before
        /// it returns: the record before it counts as delivered from then on. Called on a library
        /// thread, one call at a time per poller. An exception fails the sweep with
        /// <see cref="CheckpointException"/> (the exception is its inner one) and the poller
        /// delivers the record again.</summary>
        void Save(string key, string stateJson);
    }

    /// <summary>The host's own checkpoint store (<see cref="ICheckpointStore"/>) as a poller's
    /// store.</summary>
    public sealed class CustomCheckpointStore : CheckpointStore
    {
        // Static delegates are never collected; each poller's store reaches its callbacks
        // through a GCHandle freed with the native poller.
        static readonly CheckpointLoadCallback LoadCallback = LoadFromHost;
        static readonly CheckpointSaveCallback SaveCallback = SaveToHost;

        readonly ICheckpointStore store;
        Exception lastFailure;

        /// <summary>Keeps the checkpoint in <paramref name="store"/>.</summary>
        public CustomCheckpointStore(ICheckpointStore store)
        {
            if (store == null) throw new ArgumentNullException("store");
            this.store = store;
        }

        internal override JsonObject Spec() { return Kind("callback"); }

        internal override PollerHandle Open(SafeTrackerClient client, string kind, string optionsJson)
        {
            GCHandle self = GCHandle.Alloc(this);
            IntPtr k = Utf8.Alloc(kind), o = Utf8.Alloc(optionsJson);
            try
            {
                PollerHandle h;
                ErrorCode code = Native.safe_poller_new_with_callbacks(client.Handle, k, LoadCallback, SaveCallback,
                                                                       GCHandle.ToIntPtr(self), o, out h);
                if (code != ErrorCode.Ok) throw Error(code, null);
                h.Keep(self);
                return h;
            }
            catch
            {
                self.Free();
                throw;
            }
            finally
            {
                Utf8.Free(k);
                Utf8.Free(o);
            }
        }

        internal override SafeTrackerException Error(ErrorCode code, Exception inner)
        {
            Exception failure = code == ErrorCode.Checkpoint ? Interlocked.Exchange(ref lastFailure, null) : null;
            return SafeTrackerException.FromLastError(code, inner ?? failure);
        }

        static CustomCheckpointStore Of(IntPtr userData)
        {
            return (CustomCheckpointStore)GCHandle.FromIntPtr(userData).Target;
        }

        static int LoadFromHost(IntPtr userData, IntPtr key, IntPtr sink)
        {
            CustomCheckpointStore self = null;
            try
            {
                self = Of(userData);
                string state = self.store.Load(Utf8.Read(key));
                if (state == null) return 0;
                IntPtr text = Utf8.Alloc(state);
                try { return Native.safe_state_sink_set(sink, text) == ErrorCode.Ok ? 0 : 1; }
                finally { Utf8.Free(text); }
            }
            catch (Exception e)
            {
                if (self != null) self.lastFailure = e;
                return 1;
            }
        }

        static int SaveToHost(IntPtr userData, IntPtr key, IntPtr stateJson)
        {
            CustomCheckpointStore self = null;
            try
            {
                self = Of(userData);
                self.store.Save(Utf8.Read(key), Utf8.Read(stateJson));
                return 0;
            }
            catch (Exception e)
            {
                if (self != null) self.lastFailure = e;
                return 1;
            }
        }
    }
}
