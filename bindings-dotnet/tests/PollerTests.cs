// The poller, .NET style: the async enumerator's at-least-once rules, handler sweeps,
// RunForeverAsync, cancellation, events, typed status/plan/skip, the updated stream, and the
// checkpoint stores (file, SQLite, the host's own).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using SafeTracker;

static class PollerTests
{
    static PollerOptions Fast() { return ErrorTests.Fast(); }

    static IEnumerable<long> Numbers(int from, int to) { return Enumerable.Range(from, to - from + 1).Select(n => (long)n); }

    [Test]
    static async Task TheExplicitLoopDeliversEveryItemOnce()
    {
        using (var client = Simulator.Shared.Client(2))
        using (var poller = new Poller(client, Fast()))
        {
            var seen = new List<long>();
            SweepEnumerator<ItemRecord> e = poller.SweepAsync().GetAsyncEnumerator();
            while (await e.MoveNextAsync())
            {
                ItemRecord r = e.Current;
                Assert.True(r.Key.OrganizationId == 2 && r.Key.ItemId == r.Item.Id && r.OrganizationId == 2, "the record's key is (organisation, item id)");
                seen.Add(r.SequentialOrgId);
            }
            Assert.True(e.Current == null, "no Current after the end");
            Assert.True(!await e.MoveNextAsync(), "stays at the end");
            e.Dispose();
            Assert.Sequence(Numbers(1, 60), seen, "every number once, in order");
            PollerStatus status = poller.Status();
            Assert.Equal(61L, status.Cursor, "the cursor is at the blank number");
            Assert.Equal("items", status.Stream, "the stream");
            SweepReport report = poller.LastReport();
            Assert.True(report != null && report.Summary.Items == 60 && report.Summary.CursorEnd == 61, "the report");
            Assert.Equal(0, (await Drain(poller)).Count, "nothing new: an empty sweep");
        }
    }

    static async Task<List<long>> Drain(Poller poller)
    {
        var seen = new List<long>();
        using (SweepEnumerator<ItemRecord> e = poller.SweepAsync().GetAsyncEnumerator())
            while (await e.MoveNextAsync()) seen.Add(e.Current.SequentialOrgId);
        return seen;
    }

    [Test]
    static async Task AThrowInTheLoopBodyLeavesTheRecordUnacknowledged()
    {
        using (var client = Simulator.Shared.Client(2))
        using (var poller = new Poller(client, Fast()))
        {
            var seen = new List<long>();
            try
            {
                using (SweepEnumerator<ItemRecord> e = poller.SweepAsync().GetAsyncEnumerator())
                {
                    while (await e.MoveNextAsync())
                    {
                        if (e.Current.SequentialOrgId == 6) throw new InvalidOperationException("the RMS is down");
                        seen.Add(e.Current.SequentialOrgId);
                    }
                }
                Assert.True(false, "the body's exception comes out of the loop");
            }
            catch (InvalidOperationException) { }
            Assert.Sequence(Numbers(1, 5), seen, "five handled");
            Assert.Equal(6L, poller.Status().Cursor, "the checkpoint stays before the record that threw");

            // A break without disposing (what `await foreach` does on netstandard2.0): the next
            // sweep supersedes the abandoned one and delivers its record again.
            SweepEnumerator<ItemRecord> abandoned = poller.SweepAsync().GetAsyncEnumerator();
            Assert.True(await abandoned.MoveNextAsync() && abandoned.Current.SequentialOrgId == 6, "6 comes again first");
            Assert.True(await abandoned.MoveNextAsync() && abandoned.Current.SequentialOrgId == 7, "then 7 (6 acknowledged)");
            List<long> rest = await Drain(poller);
            Assert.Sequence(Numbers(7, 60), rest, "7, left unacknowledged by the break, comes again");
            Assert.Throws<CheckpointException>(() => abandoned.MoveNext(), "the superseded enumerator is refused");
        }
    }

    [Test]
    static async Task HandlerSweepsAndTheConsumerException()
    {
        using (var client = Simulator.Shared.Client(3))
        using (var poller = new Poller(client, Fast()))
        {
            var seen = new List<long>();
            var e = Assert.ThrowsAsync<ConsumerException>(() => poller.SweepAsync(async r =>
            {
                await Task.Yield();
                if (r.SequentialOrgId == 10) throw new IOException("disk full");
                seen.Add(r.SequentialOrgId);
            }), "an async handler that throws");
            Assert.True(e.InnerException is IOException && e.Message.Contains("disk full"), "the handler's exception inside");
            Assert.Equal(10L, poller.Status().Cursor, "the checkpoint stays before it");
            Assert.True(poller.Status().Stuck != null && poller.Status().Stuck.Seq == 10, "the poller is stuck at 10, typed");
            SweepReport report = await poller.SweepAsync(r => { seen.Add(r.SequentialOrgId); return Task.FromResult(0); });
            Assert.Sequence(Numbers(1, 60), seen, "10 comes again, then the rest");
            Assert.Equal(51L, report.Summary.Items, "the report of the second sweep");
        }
        using (var client = Simulator.Shared.Client(3))
        using (var again = new Poller(client, Fast()))
        {
            var blocking = new List<long>();
            again.Sweep(r => blocking.Add(r.SequentialOrgId));
            Assert.Equal(60, blocking.Count, "the blocking Sweep");
        }
    }

    [Test]
    static void TwoMoveNextAsyncAtOnceAreRefused()
    {
        Simulator sim = Simulator.Shared;
        sim.Fault("{\"kind\":\"slow_headers\",\"latency_ms\":500,\"count\":1,\"path_contains\":\"seqOrgID/1\"}");
        using (var client = sim.Client(4))
        using (var poller = new Poller(client, Fast()))
        using (SweepEnumerator<ItemRecord> e = poller.SweepAsync().GetAsyncEnumerator())
        {
            Task<bool> first = e.MoveNextAsync();
            Assert.ThrowsAsync<InvalidOperationException>(() => e.MoveNextAsync(), "a second MoveNextAsync while one runs");
            Assert.True(first.Result && e.Current.SequentialOrgId == 1, "the first one completes");
        }
    }

    [Test]
    static void CancellationTokenFromAnotherThreadStopsTheSweepWithoutLoss()
    {
        Simulator sim = Simulator.Shared;
        using (var client = sim.Client(5))
        using (var poller = new Poller(client, Fast()))
        {
            var seen = new List<long>();
            using (var cts = new CancellationTokenSource())
            {
                sim.Fault("{\"kind\":\"slow_headers\",\"latency_ms\":4000,\"count\":1,\"path_contains\":\"seqOrgID/21\"}");
                var started = DateTime.UtcNow;
                new Thread(() => { while (seen.Count < 20) Thread.Sleep(5); Thread.Sleep(200); cts.Cancel(); }).Start();
                var e = Assert.ThrowsAsync<OperationCanceledException>(() => poller.SweepAsync(r =>
                {
                    lock (seen) seen.Add(r.SequentialOrgId);
                    return Task.FromResult(0);
                }, cts.Token), "the token stops the sweep");
                Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3.5), "it reached the native call in flight");
                Assert.Equal(cts.Token, e.CancellationToken, "the token's exception");
            }
            Assert.Sequence(Numbers(1, 20), seen, "20 delivered before the cancel");
            long cursor = poller.Status().Cursor;
            Assert.True(cursor == 20 || cursor == 21, "the checkpoint is at or before the next undelivered number: " + cursor);
            var rest = new List<long>();
            poller.Sweep(r => rest.Add(r.SequentialOrgId));
            Assert.Sequence(Numbers((int)cursor, 60), rest, "the next sweep goes on from the checkpoint, nothing lost");
        }
    }

    [Test(TimeoutSeconds = 60)]
    static async Task RunForeverUntilCancelOrToken()
    {
        Simulator sim = Simulator.Shared;
        using (var client = sim.Client(6))
        using (var poller = new Poller(client, Fast()))
        {
            var seen = new List<long>();
            int failures = 0;
            poller.SweepFailed += (s, e) => Interlocked.Increment(ref failures);
            sim.Fault("{\"kind\":\"status\",\"status\":503,\"count\":3,\"path_contains\":\"seqOrgID/30\"}");
            Task run = poller.RunForeverAsync(r => { lock (seen) seen.Add(r.SequentialOrgId); return Task.FromResult(0); });
            while (true)
            {
                lock (seen) if (seen.Count >= 60) break;
                Assert.True(!run.IsCompleted, "still running: " + (run.Exception == null ? "" : run.Exception.ToString()));
                await Task.Delay(20);
            }
            sim.Admin("orgs/6/items", "{\"count\":2}");
            while (true)
            {
                lock (seen) if (seen.Count >= 62) break;
                await Task.Delay(20);
            }
            poller.Cancel();
            Assert.True(run.Wait(TimeSpan.FromSeconds(10)) && run.Status == TaskStatus.RanToCompletion, "Cancel ends the loop normally");
            Assert.Sequence(Numbers(1, 62), seen, "every item once, the new ones in a later sweep");
            Assert.True(failures >= 1, "the transient failure was reported and the loop went on");
        }
        using (var client = sim.Client(6))
        using (var poller = new Poller(client, Fast()))
        using (var cts = new CancellationTokenSource())
        {
            int n = 0;
            Task run = poller.RunForeverAsync(r => { if (Interlocked.Increment(ref n) == 5) cts.Cancel(); return Task.FromResult(0); }, cts.Token);
            Assert.ThrowsAsync<OperationCanceledException>(() => run, "the token cancels the loop");
            Assert.True(run.IsCanceled, "the task is Canceled");
        }
        using (var client = sim.Client(6))
        using (var poller = new Poller(client, Fast()))
        {
            var e = Assert.ThrowsAsync<ConsumerException>(() => poller.RunForeverAsync(r => { throw new FormatException("bad row"); }), "a consumer error ends the loop");
            Assert.True(e.InnerException is FormatException, "with the handler's exception");
        }
    }

    [Test]
    static void EventsStatusPlanAndSkipAreTyped()
    {
        Simulator sim = Simulator.Fresh(1, 20);
        sim.Admin("orgs/1/items/3/duplicate", "{}");
        sim.Admin("orgs/1/items/5/hide", "{}");
        using (var client = sim.Client(1))
        using (var poller = new Poller(client, new PollerOptions { UnsafeMinInterval = TimeSpan.Zero, GapTolerance = 3 }))
        {
            SweepPlan plan = poller.Plan();
            Assert.True(plan.StartSeq == 1 && plan.GapTolerance == 3 && plan.HolesToProbe.Count == 0, "the plan of the first sweep");
            var events = new List<PollerEvent>();
            int thread = -1;
            poller.Event += (s, e) => { lock (events) events.Add(e.Event); };
            var records = new List<ItemRecord>();
            poller.Sweep(r => { records.Add(r); thread = Thread.CurrentThread.ManagedThreadId; });
            Assert.Equal(20, records.Count, "19 numbers with an item, one of them twice");
            var ofThree = records.Where(r => r.SequentialOrgId == 3).ToList();
            Assert.True(ofThree.Count == 2 && ofThree[0].Key.ItemId < ofThree[1].Key.ItemId, "both items of 3, ascending id, distinct keys");
            PollerEvent dup = events.FirstOrDefault(e => e.Event == "duplicate_number");
            Assert.True(dup != null && dup.Seq == 3 && dup.Ids.SequenceEqual(ofThree.Select(r => r.Key.ItemId.Value)), "the duplicate_number event, typed");
            Assert.True(events.Any(e => e.Event == "hole_recorded" && e.Seq == 5), "the hole at 5: " + string.Join(",", events.Select(e => e.Event)));
            PollerStatus status = poller.Status();
            Assert.True(status.Holes.SequenceEqual(new long[] { 5 }) && status.DuplicateNumbers == 1 && status.Cursor == 21, "status: holes, duplicates, cursor");
            Assert.True(poller.Plan().HolesToProbe.SequenceEqual(new long[] { 5 }), "the next plan re-probes the hole");
            Assert.Throws<ValidationException>(() => poller.Skip(7, "not the cursor"), "skip of a delivered number");
            SkippedNumber skipped = poller.Skip(5, "withdrawn; ticket 4711");
            Assert.True(skipped.Seq == 5 && skipped.Reason == "withdrawn; ticket 4711", "the recorded skip");
            Assert.True(poller.Status().Holes.Count == 0 && poller.Status().Skipped.Any(k => k.Seq == 5), "the hole is gone, the skip listed");
        }
    }

    [Test]
    static void TheUpdatedStream()
    {
        Simulator sim = Simulator.Fresh(1, 10);
        using (var client = sim.Client(1))
        using (var poller = new UpdatedPoller(client, new UpdatedPollerOptions
        { Since = DateTimeOffset.UtcNow.AddMinutes(-1), UnsafeMinInterval = TimeSpan.Zero }))
        {
            sim.Admin("orgs/1/items/4/touch", "{}");
            var records = new List<UpdatedRecord>();
            poller.Sweep(r => records.Add(r));
            Assert.True(records.Count == 1 && records[0].Item.SequentialOrgId == 4, "the touched item: " + records.Count);
            Assert.True(records[0].Key.ItemId == records[0].ItemId && records[0].Key.OrganizationId == 1, "the same item key as the new-items poller's");
            Assert.Equal("updated", poller.Status().Stream, "the stream");
        }
    }

    [Test]
    static void FileAndSqliteStoresResume()
    {
        string dir = Paths.TempDir();
        foreach (CheckpointStore store in new CheckpointStore[] { new FileCheckpointStore(Path.Combine(dir, "cp.json")), new SqliteCheckpointStore(Path.Combine(dir, "cp.db")) })
        {
            using (var client = Simulator.Shared.Client(7))
            {
                var seen = new List<long>();
                using (var poller = new Poller(client, store, Fast()))
                {
                    try { poller.Sweep(r => { if (r.SequentialOrgId == 31) throw new TimeoutException("rms"); seen.Add(r.SequentialOrgId); }); }
                    catch (ConsumerException) { }
                }
                using (var poller = new Poller(client, store, Fast()))
                {
                    poller.Sweep(r => seen.Add(r.SequentialOrgId));
                    Assert.Sequence(Numbers(1, 60), seen, store.GetType().Name + ": resumes at the undelivered record");
                }
            }
        }
        Assert.Throws<ArgumentException>(() => new FileCheckpointStore(""), "a store needs a path");
        Directory.Delete(dir, true);
    }

    /// <summary>A host store: a dictionary, and a switch that makes saves fail.</summary>
    sealed class DictionaryStore : ICheckpointStore
    {
        public readonly Dictionary<string, string> Saved = new Dictionary<string, string>();
        public int Saves;
        public bool Failing;
        public string Load(string key) { lock (Saved) { string s; return Saved.TryGetValue(key, out s) ? s : null; } }
        public void Save(string key, string stateJson)
        {
            if (Failing) throw new InvalidOperationException("SQL Server is unavailable");
            lock (Saved) { Saved[key] = stateJson; Saves++; }
        }
    }

    [Test]
    static void TheHostsOwnCheckpointStore()
    {
        var store = new DictionaryStore();
        using (var client = Simulator.Shared.Client(8))
        {
            var seen = new List<long>();
            using (var poller = new Poller(client, store, Fast()))
            {
                var e = Assert.Throws<CheckpointException>(() => poller.Sweep(r =>
                {
                    seen.Add(r.SequentialOrgId);
                    if (r.SequentialOrgId == 20) store.Failing = true;
                }), "a failing save fails the sweep");
                Assert.True(e.InnerException is InvalidOperationException && e.InnerException.Message.Contains("SQL Server"), "the store's exception inside: " + e);
            }
            Assert.True(store.Saved.Count == 1 && store.Saves >= 19, "saved through the host's store: " + store.Saves);
            store.Failing = false;
            using (var poller = new Poller(client, store, Fast()))
            {
                Assert.Equal(20L, poller.Status().Cursor, "loaded from the host's store: the record whose save failed is next");
                poller.Sweep(r => seen.Add(r.SequentialOrgId));
            }
            Assert.Sequence(Numbers(1, 20).Concat(Numbers(20, 60)), seen, "20 again (its acknowledgement never saved), nothing lost");
            var failingLoad = new ThrowingLoad();
            var load = Assert.Throws<CheckpointException>(() => new Poller(client, failingLoad, Fast()), "a load that throws");
            Assert.True(load.InnerException is UnauthorizedAccessException, "the load's exception inside");
        }
    }

    sealed class ThrowingLoad : ICheckpointStore
    {
        public string Load(string key) { throw new UnauthorizedAccessException("no read permission"); }
        public void Save(string key, string stateJson) { }
    }

    [Test(TimeoutSeconds = 180)]
    static void CallbacksSurviveGarbageCollection()
    {
        // The host store's callbacks and the event handlers are called from native code while
        // another thread collects without pause: a collected delegate would crash the process.
        Simulator sim = Simulator.Fresh(1, 40);
        var stop = false;
        var collector = new Thread(() => { while (!Volatile.Read(ref stop)) { GC.Collect(); GC.WaitForPendingFinalizers(); Thread.Sleep(1); } });
        collector.Start();
        try
        {
            using (var client = sim.Client(1))
            {
                for (int round = 0; round < 5; round++)
                {
                    var seen = new List<long>();
                    int events = 0;
                    var store = new DictionaryStore();
                    using (var poller = new Poller(client, new CustomCheckpointStore(store), Fast()))
                    {
                        poller.Event += (s, e) => events++;
                        poller.Sweep(r => { seen.Add(r.SequentialOrgId); GC.Collect(); });
                    }
                    Assert.Sequence(Numbers(1, 40), seen, "round " + round);
                    Assert.True(store.Saves >= 40 && events > 0, "saves and events through callbacks: " + store.Saves + ", " + events);
                }
                // A poller left to the collector (never disposed) is freed by its finalizer, which
                // releases its one-poller lock: the next poller of the stream opens.
                AbandonAPoller(client);
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                using (var poller = new Poller(client, new DictionaryStore(), Fast()))
                {
                    var seen = new List<long>();
                    poller.Sweep(r => seen.Add(r.SequentialOrgId));
                    Assert.Equal(40, seen.Count, "a last sweep after the abandoned poller");
                }
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void AbandonAPoller(SafeTrackerClient client)
    {
        var poller = new Poller(client, new DictionaryStore(), Fast());
        poller.Sweep(r => { if (r.SequentialOrgId == 10) GC.Collect(); });
    }
}
