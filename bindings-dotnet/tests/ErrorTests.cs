// Each exception class for its code, provoked through the simulator where SAFE can answer it;
// the generated table against the core's (the vectors) and the C header.
using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Threading.Tasks;
using SafeTracker;

static class ErrorTests
{
    const string Seq = "/api/items/seqOrgID/{n}";

    /// <summary>The exception of exactly <typeparamref name="E"/>, its code the one its class is
    /// generated for, and no token in its message or ToString.</summary>
    static E Expect<E>(Action call, string what) where E : SafeTrackerException
    {
        E e = Assert.Throws<E>(call, what);
        Assert.Equal(CodeOfClass(typeof(E)), e.Code, what + ": the code of " + typeof(E).Name);
        Assert.Equal(ErrorCodes.ClassOf(e.Code), e.Class, what + ": class");
        Assert.True(!e.Message.Contains("sim-token") && !e.ToString().Contains("sim-token"), what + ": no token in " + e.Message);
        return e;
    }

    static ErrorCode CodeOfClass(Type t)
    {
        string name = t.Name.Substring(0, t.Name.Length - "Exception".Length);
        return name == "RequestTimeout" ? ErrorCode.Timeout : (ErrorCode)Enum.Parse(typeof(ErrorCode), name);
    }

    [Test]
    static void TheCodeTableIsTheCores()
    {
        var vectors = Paths.Vectors()["error_codes"].AsArray;
        var core = vectors.ToDictionary(v => (int)v.AsObject["code"].ToInt64(), v => v.AsObject["name"].AsString);
        var here = Enum.GetValues(typeof(ErrorCode)).Cast<ErrorCode>().Where(c => (int)c > 0 && (int)c < 90).ToDictionary(c => (int)c, c => c.ToString());
        Assert.Sequence(core.OrderBy(kv => kv.Key), here.OrderBy(kv => kv.Key), "ErrorCode is the core's table");
        Assembly lib = typeof(SafeTrackerClient).Assembly;
        foreach (ErrorCode code in Enum.GetValues(typeof(ErrorCode)))
        {
            if (code == ErrorCode.Ok) continue;
            string name = code == ErrorCode.Timeout ? "RequestTimeoutException" : code + "Exception";
            Type t = lib.GetType("SafeTracker." + name);
            Assert.True(t != null && t.IsPublic && t.BaseType == typeof(SafeTrackerException), name + " exists and derives from SafeTrackerException");
            SafeTrackerException e = SafeTrackerException.Of(code, "m");
            Assert.Equal(t, e.GetType(), "the factory picks " + name);
            Assert.True(e.Code == code && e.Message == "m", name + ": code and message");
        }
        Assert.True(ErrorCodes.KeepsPollerRunning(ErrorCode.Transport) && ErrorCodes.KeepsPollerRunning(ErrorCode.BudgetExhausted)
                    && !ErrorCodes.KeepsPollerRunning(ErrorCode.Auth) && !ErrorCodes.KeepsPollerRunning(ErrorCode.Consumer), "which codes keep a poller running");
        Assert.True(ErrorCodes.IsTransient(ErrorCode.Server) && !ErrorCodes.IsTransient(ErrorCode.NotFound), "transient codes");
        // The header's statuses are the same numbers (the enum is generated against it too).
        string header = File.ReadAllText(Path.Combine(Paths.Root, "include", "safe_tracker.h"));
        foreach (ErrorCode code in Enum.GetValues(typeof(ErrorCode)))
        {
            string upper = string.Concat(code.ToString().Select((ch, i) => i > 0 && char.IsUpper(ch) ? "_" + ch : ch.ToString())).ToUpperInvariant();
            Assert.True(header.Contains("SAFE_" + upper + " = " + (int)code + ","), "the header has SAFE_" + upper + " = " + (int)code);
        }
    }

    [Test]
    static void InvalidConfig()
    {
        Expect<InvalidConfigException>(() => new SafeTrackerClient(new SafeTrackerClientOptions
        { BaseUrl = "http://safe.example.org/api/", Token = "t", OrganizationId = 1, OfficeId = 1 }), "plain http to a remote host");
        Expect<InvalidConfigException>(() => new SafeTrackerClient(new SafeTrackerClientOptions { Token = "t", OrganizationId = 1 }), "no office id");
        Expect<InvalidConfigException>(() => new SafeTrackerClient(new SafeTrackerClientOptions { OrganizationId = 1, OfficeId = 1 }), "no token");
        foreach (double rate in new[] { 1e-300, -1.0, double.NaN, double.PositiveInfinity })
        {
            var e = Expect<InvalidConfigException>(() => Simulator.Shared.Client(1, o => o.RequestsPerSecond = rate), "rate " + rate);
            Assert.True(e.Message.Contains("RequestsPerSecond") || e.Message.Contains("requests_per_second"), "the rate is named: " + e.Message);
        }
        Expect<InvalidConfigException>(() => Simulator.Shared.Client(1, o => o.CallTimeout = TimeSpan.FromDays(100000)), "a call timeout of centuries");
        Expect<InvalidConfigException>(() => Simulator.Shared.Client(1, o => o.AttemptTimeout = TimeSpan.Zero), "a zero attempt timeout");
    }

    [Test]
    static void Validation()
    {
        Simulator sim = Simulator.Shared;
        using (SafeTrackerClient client = sim.Client(1))
        {
            var e = Expect<ValidationException>(() => client.CreateCase(new Case { CaseOfficerIds = new long[] { 1 }, OffenseTypeId = 4, Active = true }), "no case number");
            Assert.Equal("caseNumber", e.Field, "the field at fault");
            Assert.Equal(0L, sim.Count("/api/cases"), "nothing was sent");
            e = Expect<ValidationException>(() => client.CreateCase(new Case { CaseNumber = "X-9", CaseOfficerIds = new long[] { 1 }, OffenseTypeId = 999, Active = true }), "the server refuses");
            Assert.True(e.HttpStatus == 400 && e.Path == "cases", "status 400 and templated path: " + e.HttpStatus + " " + e.Path);
        }
    }

    [Test]
    static void TransportTimeoutTooLargeDecode()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using (var c = new SafeTrackerClient(new SafeTrackerClientOptions
        {
            BaseUrl = "http://127.0.0.1:" + port + "/api/", Token = "t0ken", OrganizationId = 1, OfficeId = 1,
            RequestsPerSecond = 0, BackoffBase = TimeSpan.FromMilliseconds(1), MaxAttempts = 2,
        }))
        {
            var e = Expect<TransportException>(() => c.GetItemBySequence(1), "nothing listens");
            Assert.True(e.IsTransient && e.HttpStatus == null, "transient, no answer");
            Assert.Equal(2L, c.RequestsSent, "both attempts");
        }
        Simulator sim = Simulator.Shared;
        sim.Fault("{\"kind\":\"slow_headers\",\"latency_ms\":1500}");
        using (var c = sim.Client(1, o => { o.AttemptTimeout = TimeSpan.FromMilliseconds(200); o.MaxAttempts = 1; }))
            Expect<RequestTimeoutException>(() => c.GetItemBySequence(1), "slow headers");
        sim.Reset();
        sim.Fault("{\"kind\":\"oversize\",\"size\":2000000}");
        using (var c = sim.Client(1, o => o.MaxBodyBytes = 1000000))
            Expect<ResponseTooLargeException>(() => c.GetItemBySequence(1), "oversize body");
        foreach (string kind in new[] { "malformed", "html200", "invalid_utf8", "truncate" })
        {
            sim.Reset();
            sim.Fault("{\"kind\":\"" + kind + "\",\"count\":1}");
            using (var c = sim.Client(1))
            {
                var e = Expect<DecodeException>(() => c.GetItemBySequence(1), kind);
                Assert.Equal("items/seqOrgID/{n}", e.Path, kind + ": the templated path");
            }
        }
    }

    [Test]
    static void AccountErrors()
    {
        Simulator sim = Simulator.Shared;
        Func<string, SafeTrackerClient> withToken = token => new SafeTrackerClient(new SafeTrackerClientOptions
        { BaseUrl = sim.BaseUrl, Token = token, OrganizationId = 1, OfficeId = 101, RequestsPerSecond = 0 });
        using (var c = withToken("wrong"))
        {
            var e = Expect<AuthException>(() => c.GetItemBySequence(1), "a wrong token");
            Assert.True(e.HttpStatus == 401 && !e.Message.Contains("wrong") && e.Class == ErrorClass.Account, "401, account class, no token");
        }
        using (var c = withToken("sim-token-org1-disabled")) Expect<AccountDisabledException>(() => c.GetItemBySequence(1), "disabled");
        using (var c = withToken("sim-token-org1-nolicence")) Expect<LicenseUnavailableException>(() => c.GetItemBySequence(1), "no licence");
        Assert.Equal(3L, sim.Count(Seq), "account errors are never retried");
    }

    [Test]
    static async Task RateBudgetEntityServer()
    {
        Simulator sim = Simulator.Shared;
        sim.Fault("{\"kind\":\"status\",\"status\":429,\"retry_after\":\"3600\",\"count\":1}");
        using (var c = sim.Client(1))
        {
            var e = Expect<RateLimitedException>(() => c.GetItemBySequence(1), "a long Retry-After");
            Assert.Equal((TimeSpan?)TimeSpan.FromHours(1), e.RetryAfter, "RetryAfter");
        }
        using (var c = sim.Client(1, o => o.BudgetPerMinute = 1))
        {
            c.GetItemBySequence(1);
            Expect<BudgetExhaustedException>(() => c.GetItemBySequence(2), "the budget is spent");
        }
        using (var c = sim.Client(1))
        {
            var notFound = Expect<NotFoundException>(() => c.GetItem(1), "no item 1");
            Assert.True(notFound.HttpStatus == 404 && notFound.Path == "items/{id}", "404 and templated path: " + notFound.Path);
            long officer = c.GetUsersTypeahead("Okafor")[0].Id;
            var dup = new Case { CaseNumber = "DUP-CS-" + Guid.NewGuid().ToString("N").Substring(0, 6), CaseOfficerIds = new[] { officer }, OffenseTypeId = 4, Active = true };
            c.CreateCase(dup);
            Expect<ConflictException>(() => c.CreateCase(dup), "a duplicate case number");
            sim.Admin("stats/reset", "{}");
            sim.Fault("{\"kind\":\"status\",\"status\":503}");
            var server = Expect<ServerException>(() => c.GetItemBySequence(1), "503 every time");
            Assert.True(server.HttpStatus == 503 && sim.Count(Seq) == 3, "three attempts, then the 503");
            sim.Reset();
            SafeTrackerException async = null;
            try { await c.GetItemAsync(1); } catch (NotFoundException e) { async = e; }
            Assert.True(async != null, "async: the same exception class");
        }
        Simulator own = Simulator.Fresh(1, 5);
        sim.Admin("stats/reset", "{}");
        own.Admin("orgs/1/items/3/duplicate", "{}");
        using (var c = own.Client(1))
        {
            var e = Expect<DuplicateNumberException>(() => c.GetItemBySequence(3), "a number held by two items");
            var items = c.GetItemsBySequence(3);
            Assert.True(e.Seq == 3 && e.Ids.SequenceEqual(items.Select(i => i.Id.Value)), "Seq and Ids name them");
            Assert.True(e.Message.Contains("items_by_seq"), "the message says how to read them");
        }
    }

    [Test]
    static void CheckpointCancelledConsumer()
    {
        Simulator sim = Simulator.Shared;
        string dir = Paths.TempDir();
        string file = Path.Combine(dir, "cp.json");
        using (var c = sim.Client(3))
        using (var first = new Poller(c, new FileCheckpointStore(file), Fast()))
        {
            Expect<CheckpointException>(() => new Poller(c, new FileCheckpointStore(file), Fast()), "a second poller on one checkpoint");
        }
        using (var c = sim.Client(4))
        using (var poller = new Poller(c, Fast()))
        {
            Expect<CancelledException>(() => poller.Sweep(r => poller.Cancel()), "cancelled by the poller's Cancel");
        }
        using (var c = sim.Client(5))
        using (var poller = new Poller(c, Fast()))
        {
            var e = Expect<ConsumerException>(() => poller.Sweep(r => { throw new IOException("disk full"); }), "the handler throws");
            Assert.True(e.Message.Contains("disk full") && e.InnerException is IOException, "the handler's exception inside");
        }
        Directory.Delete(dir, true);
    }

    internal static PollerOptions Fast()
    {
        return new PollerOptions { UnsafeMinInterval = TimeSpan.Zero, Interval = TimeSpan.FromMilliseconds(50) };
    }
}
