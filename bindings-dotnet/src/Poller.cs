// The pollers: the sequential new-items poller and the updated-items stream, each as an async
// sweep (an async enumerator in the shape C# 8's `await foreach` takes by pattern), a
// handler-driven sweep, a run-for-ever loop on the core's schedule, typed status and plan, and
// the core's events as a .NET event. Every rule (acknowledgement, holes, back-off, what stops a
// loop) is the core's: this file calls the C ABI's pull-style sweep.
using System;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;

namespace SafeTracker
{
    /// <summary>One event of a poller (a hole recorded, a duplicated number, a stall…).</summary>
    public sealed class PollerEventArgs : EventArgs
    {
        internal PollerEventArgs(PollerEvent e) { Event = e; }

        /// <summary>The event, as the core's schema types it.</summary>
        public PollerEvent Event { get; private set; }
    }

    /// <summary>A sweep of a run-for-ever loop failed and the loop goes on (the next sweep
    /// retries later, on the core's back-off).</summary>
    public sealed class SweepFailedEventArgs : EventArgs
    {
        internal SweepFailedEventArgs(SafeTrackerException e) { Exception = e; }

        /// <summary>Why the sweep failed.</summary>
        public SafeTrackerException Exception { get; private set; }
    }

    /// <summary>What both pollers share. Delivery is at least once: store each record by
    /// upserting on its <c>Key</c>, never by inserting. A record is acknowledged (the checkpoint
    /// moves past it) only when the consumer asks for the next one; a record whose handling
    /// threw, or after which the loop stopped, comes again first in the next sweep. One poller
    /// per checkpoint: a second poller on the same store and stream fails with
    /// <see cref="CheckpointException"/> until this one is disposed.</summary>
    /// <typeparam name="TRecord"><see cref="ItemRecord"/> or <see cref="UpdatedRecord"/>.</typeparam>
    public abstract class PollerBase<TRecord> : IDisposable where TRecord : class
    {
        readonly PollerHandle handle;
        readonly CheckpointStore store;
        readonly Func<JsonValue, string, TRecord> decode;

        internal PollerBase(SafeTrackerClient client, CheckpointStore store, string kind, string optionsJson,
                            Func<JsonValue, string, TRecord> decode)
        {
            if (client == null) throw new ArgumentNullException("client");
            this.store = store ?? new MemoryCheckpointStore();
            this.decode = decode;
            handle = this.store.Open(client, kind, optionsJson);
            Check(Native.safe_poller_queue_events(handle));
        }

        internal PollerHandle Handle { get { return handle; } }

        /// <summary>Raised with each event of the core (hole recorded, duplicate number…), on the
        /// thread that ran the native call that produced it, after that call; an exception from
        /// a handler propagates to the caller of the poller's method.</summary>
        public event EventHandler<PollerEventArgs> Event;

        /// <summary>Raised when a sweep of <see cref="RunForeverAsync"/> fails and the loop goes on.</summary>
        public event EventHandler<SweepFailedEventArgs> SweepFailed;

        /// <summary>The records of one sweep, as an async enumerator: <c>await foreach (var record
        /// in poller.SweepAsync(ct))</c> (C# 8), or <c>GetAsyncEnumerator()</c> and <c>while (await
        /// e.MoveNextAsync())</c> (C# 7, .NET Framework). Asking for the next record acknowledges
        /// the current one; a <c>break</c> or an exception leaves it unacknowledged. No request is
        /// made before the first <c>MoveNextAsync</c>.</summary>
        public Sweep<TRecord> SweepAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            return new Sweep<TRecord>(this, cancellationToken);
        }

        /// <summary>One sweep, calling <paramref name="handler"/> for each record in order;
        /// returns the sweep's report. A handler that throws stops the sweep with
        /// <see cref="ConsumerException"/> (its inner exception is the handler's) and leaves the
        /// record unacknowledged.</summary>
        public async Task<SweepReport> SweepAsync(Func<TRecord, Task> handler, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (handler == null) throw new ArgumentNullException("handler");
            using (SweepEnumerator<TRecord> e = SweepAsync(cancellationToken).GetAsyncEnumerator())
            {
                while (await e.MoveNextAsync().ConfigureAwait(false))
                {
                    try
                    {
                        await handler(e.Current).ConfigureAwait(false);
                    }
                    catch (Exception failure)
                    {
                        throw e.Fail(failure);
                    }
                }
            }
            return LastReport();
        }

        /// <summary>The blocking twin of <see cref="SweepAsync(Func{TRecord, Task}, CancellationToken)"/>:
        /// the handler runs on the calling thread.</summary>
        public SweepReport Sweep(Action<TRecord> handler, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (handler == null) throw new ArgumentNullException("handler");
            using (SweepEnumerator<TRecord> e = SweepAsync(cancellationToken).GetAsyncEnumerator())
            {
                while (e.MoveNext())
                {
                    try
                    {
                        handler(e.Current);
                    }
                    catch (Exception failure)
                    {
                        throw e.Fail(failure);
                    }
                }
            }
            return LastReport();
        }

        /// <summary>Sweeps on the core's schedule (the interval plus jitter after each start, longer
        /// after failures, never before the floor) until <see cref="Cancel"/> (then the task
        /// completes) or <paramref name="cancellationToken"/> (then it is cancelled). Transient
        /// failures and a spent budget raise <see cref="SweepFailed"/> and the loop goes on;
        /// account, checkpoint, consumer and ownership errors end it with their exception.</summary>
        public async Task RunForeverAsync(Func<TRecord, Task> handler, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (handler == null) throw new ArgumentNullException("handler");
            while (true)
            {
                if (!await Task.Run(() => WaitScheduled(cancellationToken), cancellationToken).ConfigureAwait(false))
                    return;
                SafeTrackerException failure = null;
                try
                {
                    await SweepAsync(handler, cancellationToken).ConfigureAwait(false);
                }
                catch (SafeTrackerException e)
                {
                    failure = e;
                }
                if (!AfterSweep(failure)) return;
            }
        }

        /// <summary>The blocking twin of <see cref="RunForeverAsync"/>: the handler runs on the
        /// calling thread.</summary>
        public void RunForever(Action<TRecord> handler, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (handler == null) throw new ArgumentNullException("handler");
            while (true)
            {
                if (!WaitScheduled(cancellationToken)) return;
                SafeTrackerException failure = null;
                try
                {
                    Sweep(handler, cancellationToken);
                }
                catch (SafeTrackerException e)
                {
                    failure = e;
                }
                if (!AfterSweep(failure)) return;
            }
        }

        /// <summary>Waits for the schedule; false when the poller was cancelled (a token's
        /// cancellation is the caller's: <see cref="NativeCall"/> throws it as an
        /// <see cref="OperationCanceledException"/>).</summary>
        bool WaitScheduled(CancellationToken ct)
        {
            try
            {
                return NativeCall.Run(cancel =>
                {
                    ErrorCode code = Native.safe_poller_wait_scheduled(handle, cancel);
                    SafeTrackerException failure = code == ErrorCode.Ok ? null : Error(code, null);
                    TakeEvents();
                    if (failure != null) throw failure;
                    return true;
                }, ct);
            }
            catch (CancelledException)
            {
                return false;
            }
        }

        /// <summary>The core's decision after a sweep of a run-for-ever loop: true to sweep again.</summary>
        bool AfterSweep(SafeTrackerException failure)
        {
            ErrorCode outcome = failure == null ? ErrorCode.Ok : failure.Code;
            bool again;
            Check(Native.safe_poller_decide(handle, outcome, out again));
            if (again)
            {
                if (failure != null)
                {
                    EventHandler<SweepFailedEventArgs> listeners = SweepFailed;
                    if (listeners != null) listeners(this, new SweepFailedEventArgs(failure));
                }
                return true;
            }
            if (failure == null || failure.Code == ErrorCode.Cancelled) return false;
            ExceptionDispatchInfo.Capture(failure).Throw();
            return false; // not reached
        }

        /// <summary>Cursor, holes, last sweep, next allowed sweep, requests spent, the number the
        /// poller is stuck at (<c>Stuck</c>), a duplicated number under way (<c>Partial</c>),
        /// operator skips and the count of duplicated numbers met; no request.</summary>
        public PollerStatus Status()
        {
            IntPtr json;
            Check(Native.safe_poller_status(handle, out json));
            return Read(Utf8.Take(json), PollerStatus.FromJson);
        }

        /// <summary>The report (summary and events) of the last completed sweep, or null.</summary>
        public SweepReport LastReport()
        {
            IntPtr json;
            Check(Native.safe_poller_last_report(handle, out json));
            JsonValue v = JsonValue.Parse(Utf8.Take(json));
            return v.IsNull ? null : Read(v.ToString(), SweepReport.FromJson);
        }

        /// <summary>Stops the poller between requests, for good, from any thread: a sweep or
        /// <see cref="RunForeverAsync"/> in progress ends (the checkpoint stays at the last
        /// acknowledged record). To stop one call only, cancel its token instead.</summary>
        public void Cancel()
        {
            CancelHandle c;
            Check(Native.safe_poller_cancel_handle(handle, out c));
            using (c) Check(Native.safe_cancel_trigger(c));
        }

        /// <summary>Cancels any sweep and frees the poller, releasing its checkpoint at once.</summary>
        public void Dispose() { handle.Dispose(); }

        /// <summary>Raises <see cref="Event"/> for every event the core queued.</summary>
        internal void TakeEvents()
        {
            IntPtr json;
            if (Native.safe_poller_take_events(handle, out json) != ErrorCode.Ok) return;
            JsonValue events = JsonValue.Parse(Utf8.Take(json));
            EventHandler<PollerEventArgs> listeners = Event;
            if (listeners == null) return;
            foreach (JsonValue e in events.AsArray) listeners(this, new PollerEventArgs(PollerEvent.FromJson(e)));
        }

        internal TRecord DecodeRecord(string json) { return Read(json, decode); }

        internal void Check(ErrorCode code, Exception inner = null)
        {
            if (code != ErrorCode.Ok) throw store.Error(code, inner);
        }

        internal SafeTrackerException Error(ErrorCode code, Exception inner)
        {
            return store.Error(code, inner);
        }

        static T Read<T>(string json, Func<JsonValue, string, T> read)
        {
            try
            {
                return read(JsonValue.Parse(json), typeof(T).Name);
            }
            catch (FormatException e)
            {
                throw SafeTrackerException.Of(ErrorCode.Decode, "the library's " + typeof(T).Name + " does not decode: " + e.Message, e);
            }
        }
    }

    /// <summary>The sequential new-items poller: reads <c>items/seqOrgID/{n}</c> upwards from its
    /// checkpoint until SAFE's blank answer, keeping the numbers it passes without an item as
    /// holes it re-probes, and resumes from the blank number next time.</summary>
    public sealed class Poller : PollerBase<ItemRecord>
    {
        /// <summary>A poller of <paramref name="client"/>'s organisation, its checkpoint in
        /// <paramref name="store"/> (null: memory only).</summary>
        public Poller(SafeTrackerClient client, CheckpointStore store = null, PollerOptions options = null)
            : base(client, store, "items", (options ?? new PollerOptions()).ToJson(), ItemRecord.FromJson) { }

        /// <summary>A poller whose checkpoint the host keeps (<see cref="ICheckpointStore"/>).</summary>
        public Poller(SafeTrackerClient client, ICheckpointStore store, PollerOptions options = null)
            : this(client, new CustomCheckpointStore(store), options) { }

        /// <summary>A poller whose checkpoint lives in memory only (tests, one-off reads).</summary>
        public Poller(SafeTrackerClient client, PollerOptions options)
            : this(client, new MemoryCheckpointStore(), options) { }

        /// <summary>What the next sweep would do and when it may start; no request.</summary>
        public SweepPlan Plan()
        {
            IntPtr json;
            Check(Native.safe_poller_plan(Handle, out json));
            try
            {
                return SweepPlan.FromJson(JsonValue.Parse(Utf8.Take(json)), "SweepPlan");
            }
            catch (FormatException e)
            {
                throw SafeTrackerException.Of(ErrorCode.Decode, "the library's SweepPlan does not decode: " + e.Message, e);
            }
        }

        /// <summary>Steps over number <paramref name="seq"/> for good, with the operator's reason
        /// (required): allowed for the cursor, an open hole, or the number the poller is stuck at
        /// (<c>Status().Stuck</c>); otherwise <see cref="ValidationException"/>, and
        /// <see cref="CheckpointException"/> while a sweep runs. Returns the recorded skip.</summary>
        public SkippedNumber Skip(long seq, string reason)
        {
            if (seq < 0) throw new ArgumentOutOfRangeException("seq", seq, "a sequential org id is not negative");
            if (reason == null) throw new ArgumentNullException("reason");
            IntPtr r = Utf8.Alloc(reason);
            try
            {
                IntPtr json;
                Check(Native.safe_poller_skip(Handle, (ulong)seq, r, out json));
                return SkippedNumber.FromJson(JsonValue.Parse(Utf8.Take(json)), "SkippedNumber");
            }
            finally
            {
                Utf8.Free(r);
            }
        }
    }

    /// <summary>The updated-items stream: items changed since the last change seen (with an
    /// overlap), each record carrying the same item key as the new-items poller's.</summary>
    public sealed class UpdatedPoller : PollerBase<UpdatedRecord>
    {
        /// <summary>A stream of <paramref name="client"/>'s organisation, its checkpoint in
        /// <paramref name="store"/> (null: memory only).</summary>
        public UpdatedPoller(SafeTrackerClient client, CheckpointStore store = null, UpdatedPollerOptions options = null)
            : base(client, store, "updated", (options ?? new UpdatedPollerOptions()).ToJson(), UpdatedRecord.FromJson) { }

        /// <summary>A stream whose checkpoint the host keeps (<see cref="ICheckpointStore"/>).</summary>
        public UpdatedPoller(SafeTrackerClient client, ICheckpointStore store, UpdatedPollerOptions options = null)
            : this(client, new CustomCheckpointStore(store), options) { }

        /// <summary>A stream whose checkpoint lives in memory only.</summary>
        public UpdatedPoller(SafeTrackerClient client, UpdatedPollerOptions options)
            : this(client, new MemoryCheckpointStore(), options) { }
    }
}
