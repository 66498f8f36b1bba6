// One sweep as an async enumerator, in the shape C# 8's `await foreach` consumes by pattern
// (GetAsyncEnumerator, Task<bool> MoveNextAsync, Current), over the C ABI's pull-style sweep:
// safe_sweep_next acknowledges the record before it returns the next.
using System;
using System.Threading;
using System.Threading.Tasks;

namespace SafeTracker
{
    /// <summary>The records of one sweep (from <see cref="PollerBase{TRecord}.SweepAsync(CancellationToken)"/>).
    /// Enumerate it once.</summary>
    /// <typeparam name="TRecord"><see cref="ItemRecord"/> or <see cref="UpdatedRecord"/>.</typeparam>
    public sealed class Sweep<TRecord> where TRecord : class
    {
        readonly PollerBase<TRecord> poller;
        readonly CancellationToken token;

        internal Sweep(PollerBase<TRecord> poller, CancellationToken token)
        {
            this.poller = poller;
            this.token = token;
        }

        /// <summary>The enumerator (what <c>await foreach</c> calls); <paramref name="cancellationToken"/>
        /// (from <c>WithCancellation</c>, or given here) cancels it as well as the sweep's own.</summary>
        public SweepEnumerator<TRecord> GetAsyncEnumerator(CancellationToken cancellationToken = default(CancellationToken))
        {
            return new SweepEnumerator<TRecord>(poller, token, cancellationToken);
        }
    }

    /// <summary>Moves through one sweep. <see cref="MoveNextAsync"/> acknowledges the current record
    /// (the checkpoint is saved past it) and fetches the next; a record the loop never asks past is
    /// not acknowledged and comes again first in the next sweep. Disposing it (a <c>using</c>
    /// block) ends the sweep at once; an enumerator left undisposed (a <c>break</c> out of
    /// <c>await foreach</c>, which cannot dispose it on netstandard2.0) is ended by the next sweep
    /// of the poller, or by the garbage collector.</summary>
    /// <typeparam name="TRecord"><see cref="ItemRecord"/> or <see cref="UpdatedRecord"/>.</typeparam>
    public sealed class SweepEnumerator<TRecord> : IDisposable where TRecord : class
    {
        readonly PollerBase<TRecord> poller;
        readonly CancellationTokenSource linked;
        readonly CancellationToken token;
        SweepHandle sweep;
        bool finished;
        int busy;

        internal SweepEnumerator(PollerBase<TRecord> poller, CancellationToken a, CancellationToken b)
        {
            this.poller = poller;
            if (a.CanBeCanceled && b.CanBeCanceled)
            {
                linked = CancellationTokenSource.CreateLinkedTokenSource(a, b);
                token = linked.Token;
            }
            else
            {
                token = a.CanBeCanceled ? a : b;
            }
        }

        /// <summary>The record <see cref="MoveNextAsync"/> last returned (null before the first and
        /// after the end).</summary>
        public TRecord Current { get; private set; }

        /// <summary>The library's JSON of <see cref="Current"/> (tests compare the models with it).</summary>
        internal string CurrentJson { get; private set; }

        /// <summary>Acknowledges <see cref="Current"/> and fetches the next record: true with the
        /// record in <see cref="Current"/>, false at the sweep's end. A failure ends the sweep
        /// (<see cref="SafeTrackerException"/>; <see cref="OperationCanceledException"/> when the
        /// token was cancelled, and the current record may then come again in the next
        /// sweep).</summary>
        public async Task<bool> MoveNextAsync()
        {
            Enter();
            try
            {
                return await NativeCall.RunAsync(Step, token).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Exchange(ref busy, 0);
            }
        }

        /// <summary>The blocking twin of <see cref="MoveNextAsync"/>.</summary>
        public bool MoveNext()
        {
            Enter();
            try
            {
                return NativeCall.Run(Step, token);
            }
            finally
            {
                Interlocked.Exchange(ref busy, 0);
            }
        }

        /// <summary>Ends the sweep now, <see cref="Current"/> unacknowledged.</summary>
        public void Dispose()
        {
            if (sweep != null) sweep.Dispose();
            if (linked != null) linked.Dispose();
            finished = true;
            Current = null;
        }

        void Enter()
        {
            if (Interlocked.CompareExchange(ref busy, 1, 0) != 0)
                throw new InvalidOperationException("MoveNextAsync is already running: await it before calling it again");
        }

        bool Step(CancelHandle cancel)
        {
            if (finished) return false;
            if (sweep == null)
            {
                SweepHandle h;
                poller.Check(Native.safe_sweep_begin(poller.Handle, out h));
                sweep = h;
            }
            IntPtr item, json;
            ErrorCode code = Native.safe_sweep_next(sweep, cancel, out item, out json);
            SafeTrackerException failure = code == ErrorCode.Ok ? null : poller.Error(code, null);
            if (failure != null || json == IntPtr.Zero)
            {
                finished = true;
                Current = null;
            }
            poller.TakeEvents();
            if (failure != null) throw failure;
            if (json == IntPtr.Zero) return false;
            string text = Utf8.Take(json);
            CurrentJson = text;
            try
            {
                Current = poller.DecodeRecord(text);
            }
            catch (SafeTrackerException e)
            {
                Current = null;
                throw Fail(e); // never acknowledged: the next sweep delivers it again
            }
            return true;
        }

        /// <summary>Ends the sweep because handling <see cref="Current"/> failed with
        /// <paramref name="failure"/>: the record stays unacknowledged. Returns the exception to
        /// throw (<see cref="ConsumerException"/>, its inner exception the handler's).</summary>
        internal SafeTrackerException Fail(Exception failure)
        {
            string reason = failure.GetType().Name + ": " + failure.Message;
            if (sweep == null || finished)
            {
                finished = true;
                return SafeTrackerException.Of(ErrorCode.Consumer, reason, failure);
            }
            finished = true;
            Current = null;
            IntPtr r = Utf8.Alloc(reason);
            try
            {
                ErrorCode code = Native.safe_sweep_fail(sweep, r);
                SafeTrackerException e = code == ErrorCode.Ok
                    ? SafeTrackerException.Of(ErrorCode.Consumer, reason, failure)
                    : poller.Error(code, failure);
                poller.TakeEvents();
                return e;
            }
            finally
            {
                Utf8.Free(r);
            }
        }
    }
}
