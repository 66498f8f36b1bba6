// The tests' own runner (NuGet, so NUnit or xUnit, is not reachable here): every static method
// marked [Test] (void or Task) runs once, in declaration order, with a time limit; a failed
// assertion or an exception fails it. `mono SafeTracker.Tests.exe [name-filter]`; exit status 1
// when a test failed. `--child-sweep …` is the child process of the SIGKILL test (KillTests.cs).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Reflection;
using System.Threading.Tasks;

[AttributeUsage(AttributeTargets.Method)]
sealed class TestAttribute : Attribute
{
    /// <summary>Seconds the test may take before it fails as hung.</summary>
    public int TimeoutSeconds = 120;
}

sealed class AssertionFailed : Exception
{
    public AssertionFailed(string message) : base(message) { }
}

static class Assert
{
    public static void True(bool condition, string what)
    {
        if (!condition) throw new AssertionFailed(what);
    }

    public static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
            throw new AssertionFailed(what + ": expected " + Show(expected) + ", got " + Show(actual));
    }

    public static void Sequence<T>(IEnumerable<T> expected, IEnumerable<T> actual, string what)
    {
        var e = expected.ToList();
        var a = actual.ToList();
        if (!e.SequenceEqual(a))
            throw new AssertionFailed(what + ": expected [" + string.Join(", ", e) + "], got [" + string.Join(", ", a) + "]");
    }

    /// <summary>Runs <paramref name="action"/> and returns the exception of exactly type
    /// <typeparamref name="E"/> it throws (a subclass or another exception fails).</summary>
    public static E Throws<E>(Action action, string what) where E : Exception
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            // Awaiting a cancelled task throws its subclass TaskCanceledException.
            if (e.GetType() == typeof(E) || (typeof(E) == typeof(OperationCanceledException) && e is E)) return (E)e;
            throw new AssertionFailed(what + ": expected " + typeof(E).Name + ", got " + e.GetType().Name + ": " + e.Message);
        }
        throw new AssertionFailed(what + ": expected " + typeof(E).Name + ", nothing was thrown");
    }

    /// <summary>The exception of exactly type <typeparamref name="E"/> the task fails with.</summary>
    public static E ThrowsAsync<E>(Func<Task> action, string what) where E : Exception
    {
        return Throws<E>(() =>
        {
            try
            {
                action().GetAwaiter().GetResult();
            }
            catch (AggregateException e) when (e.InnerExceptions.Count == 1)
            {
                throw e.InnerException;
            }
        }, what);
    }

    static string Show(object o) { return o == null ? "null" : o.ToString(); }
}

static class TestRunner
{
    static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--child-sweep") return KillTests.Child(args);
        string filter = args.Length > 0 ? args[0] : null;
        var tests = typeof(TestRunner).Assembly.GetTypes()
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                .Where(m => m.GetCustomAttribute<TestAttribute>() != null)
                .OrderBy(m => m.MetadataToken)
                .Select(m => new { Type = t, Method = m }))
            .Where(t => filter == null || (t.Type.Name + "." + t.Method.Name).Contains(filter))
            .ToList();
        if (tests.Count == 0)
        {
            Console.Error.WriteLine("no test matches " + filter);
            return 1;
        }
        int failed = 0;
        var total = Stopwatch.StartNew();
        foreach (var t in tests)
        {
            string name = t.Type.Name + "." + t.Method.Name;
            int limit = t.Method.GetCustomAttribute<TestAttribute>().TimeoutSeconds;
            var watch = Stopwatch.StartNew();
            string failure = Run(t.Method, limit);
            if (failure == null)
            {
                Console.WriteLine("ok   " + name + " (" + watch.ElapsedMilliseconds + " ms)");
            }
            else
            {
                failed++;
                Console.WriteLine("FAIL " + name + ": " + failure);
            }
        }
        Console.WriteLine(tests.Count - failed + " passed, " + failed + " failed (" + total.Elapsed.TotalSeconds.ToString("F1") + " s)");
        Simulator.StopAll();
        return failed == 0 ? 0 : 1;
    }

    static string Run(MethodInfo method, int limitSeconds)
    {
        Task task = Task.Run(() =>
        {
            object result = method.Invoke(null, null);
            var awaitable = result as Task;
            if (awaitable != null) awaitable.GetAwaiter().GetResult();
        });
        try
        {
            if (!task.Wait(TimeSpan.FromSeconds(limitSeconds))) return "did not finish within " + limitSeconds + " s";
            return null;
        }
        catch (AggregateException e)
        {
            Exception inner = e.InnerException;
            while (inner is TargetInvocationException && inner.InnerException != null) inner = inner.InnerException;
            return inner is AssertionFailed ? inner.Message : inner.ToString();
        }
    }
}
