// The PostgreSQL checkpoint store with its fenced lease, against a throw-away cluster
// (safe-test-postgres) and the simulator: one owner per unit, the next owner resumes the
// checkpoint, the password never shows.
using System;
using System.Diagnostics;
using System.Threading;
using SafeTracker;

static class PostgresTests
{
    sealed class Cluster : IDisposable
    {
        readonly Process process;
        public readonly string Url;

        public Cluster()
        {
            process = Process.Start(new ProcessStartInfo(Paths.Binary("safe-test-postgres", "SAFE_TEST_POSTGRES_BIN"))
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
            });
            Url = process.StandardOutput.ReadLine();
            Assert.True(Url != null && Url.StartsWith("postgres://"), "the cluster started: " + Url);
        }

        public void Dispose()
        {
            process.StandardInput.Close(); // the cluster stops and is removed
            process.WaitForExit(60000);
        }
    }

    [Test(TimeoutSeconds = 180)]
    static void OneOwnerPerUnitAndTheNextResumes()
    {
        Simulator sim = Simulator.Fresh(1, 60);
        // One client per lease holder, as one per worker process: a client whose poller held a
        // lease is gated by it for good (fenced once the lease is gone).
        using (var cluster = new Cluster())
        using (var client = sim.Client(1))
        using (var other = sim.Client(1))
        {
            var fast = new PollerOptions { UnsafeMinInterval = TimeSpan.Zero };
            var first = new Poller(client, new PostgresCheckpointStore(cluster.Url, "org6", "worker-a", TimeSpan.FromSeconds(1)), fast);
            var fenced = Assert.Throws<FencedException>(() => new Poller(other, new PostgresCheckpointStore(cluster.Url, "org6", "worker-b"), fast), "a second owner");
            Assert.True(fenced.Message.Contains("worker-a") && fenced.Class == ErrorClass.Ownership, "names the holder: " + fenced.Message);
            int seen = 0;
            try { first.Sweep(r => { if (r.SequentialOrgId == 31) throw new InvalidOperationException("stop"); seen++; }); }
            catch (ConsumerException) { }
            Assert.Equal(30, seen, "30 delivered under worker-a");
            first.Dispose();
            Poller second = null;
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (second == null)
            {
                try { second = new Poller(other, new PostgresCheckpointStore(cluster.Url, "org6", "worker-b"), fast); }
                catch (FencedException) when (DateTime.UtcNow < deadline) { Thread.Sleep(200); }
            }
            using (second)
            {
                Assert.Equal(31L, second.Status().Cursor, "resumed from PostgreSQL");
                Assert.Equal(30L, second.Sweep(r => { }).Summary.Items, "the rest");
            }
        }
    }

    [Test(TimeoutSeconds = 60)]
    static void ThePasswordNeverShows()
    {
        var store = new PostgresCheckpointStore("postgres://rms:hunter2-secret@127.0.0.1:1/safe?sslmode=disable", "org7");
        Assert.True(!store.ToString().Contains("hunter2"), "ToString: " + store);
        using (var client = Simulator.Shared.Client(7))
        {
            SafeTrackerException e = null;
            try { new Poller(client, store).Dispose(); }
            catch (SafeTrackerException x) { e = x; }
            Assert.True(e != null && !e.Message.Contains("hunter2-secret") && !e.ToString().Contains("hunter2-secret"), "no password in the error");
            Assert.True(e.Message.Contains("rms@127.0.0.1:1/safe"), "the server is named: " + e.Message);
        }
    }
}
