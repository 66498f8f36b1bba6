// Console sample and test of the C# wrapper against the simulator (SAFE_BASE_URL from run.sh).
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Threading;
using SafeTracker;

static class Sample
{
    static int passed, failed;

    static void Check(bool ok, string what)
    {
        if (ok) passed++; else { failed++; Console.Error.WriteLine("check failed: " + what); }
    }

    /// <summary>POSTs to the simulator's admin API (next to the API root) and returns the answer.</summary>
    static string Admin(string url, string path, string json)
    {
        using (var web = new WebClient())
        {
            web.Headers[HttpRequestHeader.ContentType] = "application/json";
            return web.UploadString(new Uri(new Uri(url), path), "POST", json);
        }
    }

    /// <summary>A number held by two items: ItemsBySeq reads both, ItemBySeq refuses, the poller
    /// delivers both with distinct keys, and Skip steps over the cursor only.</summary>
    static void DuplicateNumberAndSkip(Client client, string url)
    {
        Admin(url, "/__admin/orgs/1/items/3/duplicate", "{}");
        Item[] items = client.ItemsBySeq(3);
        Check(items.Length == 2 && items[0].SequentialOrgId == 3 && items[1].SequentialOrgId == 3, "ItemsBySeq: both items");
        Check(items.Length == 2 && items[0].Id > 0 && items[0].Id < items[1].Id, "ItemsBySeq: ascending id");
        Check(items.Length == 2 && items[1].Json.Contains("\"sequentialOrgId\":3"), "ItemsBySeq: JSON");
        Check(client.ItemsBySeq(100000).Length == 0, "ItemsBySeq: blank answer is empty");
        Check(client.ItemsBySeq(4).Length == 1, "ItemsBySeq: one item");
        try { client.ItemBySeq(3); Check(false, "DuplicateNumber expected"); }
        catch (SafeException e)
        {
            Check(e.Code == Status.DuplicateNumber && (int)e.Code == 32, "DuplicateNumber status");
            Check(e.Message.Contains("items_by_seq") && e.Seq == 3, "DuplicateNumber message and number");
            Check(items.Length == 2 && e.Ids.Length == 2 && e.Ids[0] == items[0].Id && e.Ids[1] == items[1].Id, "DuplicateNumber ids");
        }

        using (var poller = new Poller(client, "{\"kind\":\"memory\"}", "{\"unsafe_min_interval\":0}"))
        {
            var ofThree = new List<Record>();
            int seen = 0;
            Status duringSweep = Status.Ok;
            string report = poller.Sweep(r =>
            {
                seen++;
                if (r.SequentialOrgId == 3) ofThree.Add(r);
                if (seen == 10)
                {
                    // Another thread may not skip while this sweep runs.
                    var t = new Thread(() =>
                    {
                        try { poller.Skip(21, "while sweeping"); }
                        catch (SafeException e) { duringSweep = e.Code; }
                    });
                    t.Start();
                    t.Join();
                }
                return true;
            });
            Check(seen == 21, "the sweep delivers both items of 3 (" + seen + " records)");
            Check(ofThree.Count == 2 && ofThree[0].ItemId == items[0].Id && ofThree[1].ItemId == items[1].Id, "records of 3: one per item, ascending id");
            Check(ofThree.Count == 2 && ofThree[0].Json.Contains("\"key\":{\"organization_id\":1,\"item_id\":" + ofThree[0].ItemId + "}")
                  && ofThree[1].Json.Contains("\"item_id\":" + ofThree[1].ItemId + "}"), "records of 3: distinct keys");
            Check(report.Contains("\"event\":\"duplicate_number\""), "duplicate_number event");
            Check(duringSweep == Status.Checkpoint, "skip while sweeping: Checkpoint (" + duringSweep + ")");
            Check(poller.Status().Contains("\"duplicate_numbers\":1"), "status counts the duplicated number");

            try { poller.Skip(5, "not the cursor"); Check(false, "Validation expected"); }
            catch (SafeException e) { Check(e.Code == Status.Validation, "skip of a delivered number: Validation"); }
            try { poller.Skip(21, " "); Check(false, "Validation expected"); }
            catch (SafeException e) { Check(e.Code == Status.Validation && e.Message.Contains("reason"), "skip without a reason: Validation"); }
            string skipped = poller.Skip(21, "never filed");
            Check(skipped.Contains("\"seq\":21") && skipped.Contains("never filed") && skipped.Contains("\"kept_as_hole\":true"),
                  "skip of a blank cursor keeps it as a hole: " + skipped);
            string status = poller.Status();
            Check(status.Contains("\"cursor\":22") && status.Contains("\"reason\":\"never filed\""), "skip moved the cursor and is recorded");
            Admin(url, "/__admin/orgs/1/items", "{\"count\":2}"); // numbers 21 and 22
            var late = new List<long>();
            poller.Sweep(r => { late.Add(r.SequentialOrgId); return true; });
            Check(late.Count == 2 && late[0] == 21 && late[1] == 22, "the skipped blank number, kept as a hole, still arrives (late)");
        }
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
            DuplicateNumberAndSkip(client, url);
            ModelTests.Run(client, Check); // the generated models (ModelTests.cs)
        }
        Console.WriteLine(passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }
}
