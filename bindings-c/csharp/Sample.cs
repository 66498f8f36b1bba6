// Console sample and test of the C# wrapper against the simulator (SAFE_BASE_URL from run.sh).
using System;
using System.IO;
using System.Threading;
using SafeTracker;

static class Sample
{
    static int passed, failed;

    static void Check(bool ok, string what)
    {
        if (ok) passed++; else { failed++; Console.Error.WriteLine("check failed: " + what); }
    }

    static int Main()
    {
        string url = Environment.GetEnvironmentVariable("SAFE_BASE_URL");
        using (var client = new Client(url, "sim-token-org1", 1, 101, requestsPerSecond: 0,
                                        optionsJson: "{\"max_attempts\":2,\"base_delay_ms\":1}"))
        {
            Item item = client.ItemBySeq(1);
            Check(item != null && item.SequentialOrgId == 1, "item 1");
            Check(item != null && item.Description != null && item.Json.Contains("sequentialOrgId"), "item fields");
            Console.WriteLine("item 1: " + (item == null ? "-" : item.Description));
            Check(client.ItemBySeq(100000) == null, "blank answer is null");
            Check(client.Call("lookup", "{\"name\":\"genders\"}").Contains("Female"), "lookup");

            try { client.Call("item", "{\"id\":1}"); Check(false, "NotFound expected"); }
            catch (SafeException e) { Check(e.Code == Status.NotFound && e.HttpStatus == 404, "NotFound status"); }

            try { new Client(url, "wrong", 1, 101, 0).ItemBySeq(1); Check(false, "Auth expected"); }
            catch (SafeException e) { Check(e.Code == Status.Auth && !e.Message.Contains("wrong"), "Auth status"); }

            string dir = Path.Combine(Path.GetTempPath(), "safe-cs-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            string spec = "{\"kind\":\"file\",\"path\":\"" + Path.Combine(dir, "cp.json") + "\"}";
            using (var poller = new Poller(client, spec, "{\"unsafe_min_interval\":0,\"interval\":3600}"))
            {
                int seen = 0;
                try
                {
                    poller.Sweep((seq, json) => { if (seq == 6) throw new InvalidOperationException("RMS down"); seen++; return true; });
                    Check(false, "consumer failure expected");
                }
                catch (SafeException e)
                {
                    Check(e.Code == Status.Consumer && e.InnerException is InvalidOperationException, "consumer failure");
                }
                Check(poller.Status().Contains("\"cursor\":6"), "checkpoint stays before the failed record");
                // Collect the delegate aggressively: the wrapper keeps it alive during the call.
                var gc = new Thread(() => { for (int i = 0; i < 20; i++) { GC.Collect(); Thread.Sleep(5); } });
                gc.Start();
                string report = poller.Sweep((seq, json) => { seen++; return true; });
                gc.Join();
                Check(seen == 20 && report.Contains("\"items\":15"), "second sweep delivers the rest");

                Action cancel = poller.CancelAction();
                var t = new Thread(() => { Thread.Sleep(200); cancel(); });
                t.Start();
                poller.RunForever((seq, json) => true); // returns once cancelled
                t.Join();
                Check(true, "run forever cancelled from another thread");
            }
            Directory.Delete(dir, true);
        }
        Console.WriteLine(passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }
}
