// The SAFE simulator for the tests (the one test double for SAFE): started once on port 0 with
// eight seeded organisations of 60 items, reset between tests, driven through its admin API.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Text;
using SafeTracker;

sealed class Simulator
{
    static readonly object Gate = new object();
    static Simulator shared;
    static readonly List<Process> Started = new List<Process>();

    readonly Process process;
    public readonly string BaseUrl;
    readonly string root;

    Simulator(params string[] args)
    {
        var start = new ProcessStartInfo(Paths.Binary("safe-simulator", "SAFE_SIMULATOR_BIN"), string.Join(" ", args))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        process = Process.Start(start);
        process.ErrorDataReceived += (s, e) => { };
        process.BeginErrorReadLine();
        lock (Started) Started.Add(process);
        BaseUrl = process.StandardOutput.ReadLine();
        if (BaseUrl == null || !BaseUrl.StartsWith("http://127.0.0.1:")) throw new Exception("the simulator did not start: " + BaseUrl);
        process.StandardOutput.ReadLine(); // the credentials
        root = BaseUrl.Substring(0, BaseUrl.Length - "api/".Length);
    }

    /// <summary>The tests' simulator, reset to its seeded state's options and without faults.</summary>
    public static Simulator Shared
    {
        get
        {
            lock (Gate)
            {
                if (shared == null) shared = new Simulator("--orgs", "8", "--items", "60", "--seed", "11");
                shared.Reset();
                return shared;
            }
        }
    }

    /// <summary>A simulator of its own (for tests that change its items).</summary>
    public static Simulator Fresh(int orgs, int items)
    {
        return new Simulator("--orgs", orgs.ToString(), "--items", items.ToString(), "--seed", "7");
    }

    public static void StopAll()
    {
        lock (Started)
        {
            foreach (Process p in Started)
            {
                try { if (!p.HasExited) p.Kill(); } catch (InvalidOperationException) { }
            }
        }
    }

    public void Reset()
    {
        Admin("faults", null, "DELETE");
        Admin("stats/reset", "{}");
        Admin("options", "{\"blank_style\":\"empty_body\",\"item_shape\":\"object\",\"police_per_minute\":null,\"licence_status\":403,\"conflict_status\":409}");
    }

    public JsonValue Admin(string path, string body, string method = null)
    {
        var request = (HttpWebRequest)WebRequest.Create(root + "__admin/" + path);
        request.Method = method ?? (body != null ? "POST" : "GET");
        request.ContentType = "application/json";
        if (body != null)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(body);
            using (Stream s = request.GetRequestStream()) s.Write(bytes, 0, bytes.Length);
        }
        using (var response = (HttpWebResponse)request.GetResponse())
        using (var reader = new StreamReader(response.GetResponseStream()))
        {
            string text = reader.ReadToEnd();
            return text.Length == 0 ? JsonValue.Null : JsonValue.Parse(text);
        }
    }

    /// <summary>Adds a fault rule (a JSON object of the simulator's FaultRule).</summary>
    public void Fault(string ruleJson) { Admin("faults", ruleJson); }

    public long Count(string route)
    {
        JsonValue v;
        return Admin("stats", null).AsObject["per_route"].AsObject.TryGetValue(route, out v) ? v.ToInt64() : 0;
    }

    public SafeTrackerClientOptions Options(int org = 1)
    {
        return new SafeTrackerClientOptions
        {
            BaseUrl = BaseUrl,
            Token = "sim-token-org" + org,
            OrganizationId = org,
            OfficeId = org * 100 + 1,
            RequestsPerSecond = 0,
            MaxAttempts = 3,
            BackoffBase = TimeSpan.FromMilliseconds(1),
            BackoffMax = TimeSpan.FromMilliseconds(5),
        };
    }

    public SafeTrackerClient Client(int org = 1, Action<SafeTrackerClientOptions> configure = null)
    {
        SafeTrackerClientOptions o = Options(org);
        if (configure != null) configure(o);
        return new SafeTrackerClient(o);
    }
}

static class Paths
{
    public static string Root
    {
        get
        {
            string root = Environment.GetEnvironmentVariable("SAFE_REPO_ROOT");
            if (string.IsNullOrEmpty(root)) throw new Exception("SAFE_REPO_ROOT is not set (tests/run.sh sets it)");
            return root;
        }
    }

    /// <summary>A binary of the workspace's debug build (<paramref name="envVar"/> overrides it).</summary>
    public static string Binary(string name, string envVar)
    {
        string path = Environment.GetEnvironmentVariable(envVar);
        if (!string.IsNullOrEmpty(path)) return path;
        string target = Environment.GetEnvironmentVariable("CARGO_TARGET_DIR") ?? Path.Combine(Root, "target");
        return Path.Combine(target, "x86_64-unknown-linux-gnu", "debug", name);
    }

    public static JsonObject Vectors()
    {
        return JsonValue.Parse(File.ReadAllText(Path.Combine(Root, "tests", "conformance", "vectors.json"))).AsObject;
    }

    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "safe-dotnet-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
