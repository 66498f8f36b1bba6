// A C# process SIGKILLed mid-sweep resumes without loss: a child process (this program with
// --child-sweep) sweeps into a log with its checkpoint in SQLite and is killed with a real
// SIGKILL twice; the third child finishes. Every number is logged, and at most the one record in
// flight at each kill twice.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using SafeTracker;

static class KillTests
{
    const int Items = 150;

    /// <summary>The child: one sweep of organisation 1, each record appended to the log (and
    /// flushed to disk) before it is acknowledged, slowly enough to be killed mid-sweep.</summary>
    internal static int Child(string[] args)
    {
        string url = args[1], checkpoint = args[2], log = args[3];
        var options = new SafeTrackerClientOptions { BaseUrl = url, Token = "sim-token-org1", OrganizationId = 1, OfficeId = 101, RequestsPerSecond = 0 };
        using (var client = new SafeTrackerClient(options))
        using (var poller = new Poller(client, new SqliteCheckpointStore(checkpoint), new PollerOptions { UnsafeMinInterval = TimeSpan.Zero }))
        using (var output = new FileStream(log, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
        using (SweepEnumerator<ItemRecord> e = poller.SweepAsync().GetAsyncEnumerator())
        {
            while (e.MoveNextAsync().GetAwaiter().GetResult())
            {
                byte[] line = System.Text.Encoding.ASCII.GetBytes(e.Current.SequentialOrgId + "\n");
                output.Write(line, 0, line.Length);
                output.Flush(true);
                Thread.Sleep(15);
            }
        }
        return 0;
    }

    static Process StartChild(string url, string checkpoint, string log)
    {
        string exe = typeof(KillTests).Assembly.Location;
        string host = Process.GetCurrentProcess().MainModule.FileName; // mono (or the app host)
        bool isMono = Path.GetFileNameWithoutExtension(host).StartsWith("mono");
        var start = new ProcessStartInfo(isMono ? host : exe, (isMono ? "\"" + exe + "\" " : "") + "--child-sweep " + url + " \"" + checkpoint + "\" \"" + log + "\"")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
        };
        Process p = Process.Start(start);
        p.ErrorDataReceived += (s, e) => { if (e.Data != null) Console.Error.WriteLine("child: " + e.Data); };
        p.BeginErrorReadLine();
        return p;
    }

    static List<long> Logged(string log)
    {
        if (!File.Exists(log)) return new List<long>();
        using (var s = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var r = new StreamReader(s))
            return r.ReadToEnd().Split('\n').Where(l => l.Length > 0).Select(long.Parse).ToList();
    }

    static void SigKill(Process p)
    {
        using (Process kill = Process.Start(new ProcessStartInfo("kill", "-KILL " + p.Id) { UseShellExecute = false }))
            kill.WaitForExit();
        Assert.True(p.WaitForExit(20000), "the child died");
        Assert.Equal(128 + 9, p.ExitCode, "killed by SIGKILL");
    }

    [Test(TimeoutSeconds = 240)]
    static void SigkillMidSweepResumesWithoutLoss()
    {
        Simulator sim = Simulator.Fresh(1, Items);
        string dir = Paths.TempDir();
        string checkpoint = Path.Combine(dir, "cp.db"), log = Path.Combine(dir, "log.txt");
        foreach (int killAt in new[] { 40, 90 })
        {
            Process child = StartChild(sim.BaseUrl, checkpoint, log);
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (Logged(log).Count < killAt)
            {
                Assert.True(!child.HasExited, "the child is still sweeping (exit " + (child.HasExited ? child.ExitCode.ToString() : "") + ")");
                Assert.True(DateTime.UtcNow < deadline, "the child logs records");
                Thread.Sleep(10);
            }
            SigKill(child);
        }
        Process last = StartChild(sim.BaseUrl, checkpoint, log);
        Assert.True(last.WaitForExit(120000) && last.ExitCode == 0, "the third child finishes its sweep");
        List<long> logged = Logged(log);
        Assert.Sequence(Enumerable.Range(1, Items).Select(n => (long)n), logged.Distinct().OrderBy(n => n), "every number delivered");
        int twice = logged.Count - logged.Distinct().Count();
        Assert.True(twice <= 2, "at most the record in flight at each kill comes twice: " + twice);
        Directory.Delete(dir, true);
    }
}
