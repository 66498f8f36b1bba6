// The shared fault matrix (tests/conformance/vectors.json, the same rows as the Rust, Python and
// Node tests) through the C# library: typed errors or successful retries, request counts within
// the retry policy, and a checkpoint that never passes an undelivered item.
using System;
using System.Collections.Generic;
using System.Linq;
using SafeTracker;

static class FaultMatrixTests
{
    const string Seq = "/api/items/seqOrgID/{n}";
    const int Items = 60;

    [Test(TimeoutSeconds = 300)]
    static void FaultMatrix()
    {
        JsonObject matrix = Paths.Vectors()["fault_matrix"].AsObject;
        JsonObject cfg = matrix["client"].AsObject;
        Simulator sim = Simulator.Shared;
        var options = new SafeTrackerClientOptions
        {
            BaseUrl = sim.BaseUrl, Token = "sim-token-org2", OrganizationId = 2, OfficeId = 201, RequestsPerSecond = 0,
            MaxAttempts = (int)cfg["max_attempts"].ToInt64(),
            AttemptTimeout = TimeSpan.FromMilliseconds(cfg["attempt_timeout_ms"].ToInt64()),
            BackoffBase = TimeSpan.FromMilliseconds(cfg["base_delay_ms"].ToInt64()),
            BackoffMax = TimeSpan.FromMilliseconds(cfg["max_delay_ms"].ToInt64()),
            RetryAfterCap = TimeSpan.FromMilliseconds(cfg["retry_after_cap_ms"].ToInt64()),
            MaxBodyBytes = cfg["max_body_bytes"].ToInt64(),
        };
        int rows = 0;
        using (var client = new SafeTrackerClient(options))
        {
            foreach (JsonValue row in matrix["cases"].AsArray)
            {
                JsonObject c = row.AsObject;
                string name = c["name"].AsString;
                sim.Reset();
                JsonObject rule = JsonValue.Parse(c["rule"].ToString()).AsObject;
                rule.Add("path_contains", JsonValue.FromString("seqOrgID/5"));
                sim.Fault(JsonValue.FromObject(rule).ToString());
                sim.Admin("stats/reset", "{}");
                var seen = new List<long>();
                string outcome;
                using (var poller = new Poller(client, new PollerOptions { UnsafeMinInterval = TimeSpan.Zero }))
                {
                    try
                    {
                        poller.Sweep(r => seen.Add(r.SequentialOrgId));
                        outcome = "ok";
                    }
                    catch (SafeTrackerException e)
                    {
                        outcome = e.Code.ToString();
                        string cls = e.GetType().Name;
                        Assert.True(cls == outcome + "Exception" || (outcome == "Timeout" && cls == "RequestTimeoutException"), name + ": the class of its code: " + cls);
                    }
                    Assert.Equal(c["expect"].AsString, outcome, name);
                    long requests = sim.Count(Seq) - (outcome == "ok" ? Items : 4);
                    Assert.Equal(c["requests"].ToInt64(), requests, name + ": requests");
                    if (outcome == "ok")
                    {
                        Assert.Sequence(Enumerable.Range(1, Items).Select(n => (long)n), seen, name);
                    }
                    else
                    {
                        Assert.Sequence(new long[] { 1, 2, 3, 4 }, seen, name);
                        Assert.Equal(5L, poller.Status().Cursor, name + ": the checkpoint stays at 5");
                    }
                }
                rows++;
            }
        }
        Assert.True(rows >= 20, "every row ran: " + rows);
    }
}
