// The ClientConfig struct (generated from the header) checked against the C compiler's layout of
// safe_client_config: tests/run.sh compiles tests/layout.c against include/safe_tracker.h and
// writes what sizeof/offsetof say to SAFE_LAYOUT_FILE; nothing here trusts a hand-written layout.
using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using SafeTracker;

static class LayoutTests
{
    [Test]
    static void ClientConfigMatchesTheHeader()
    {
        string file = Environment.GetEnvironmentVariable("SAFE_LAYOUT_FILE");
        Assert.True(!string.IsNullOrEmpty(file) && File.Exists(file), "SAFE_LAYOUT_FILE (tests/run.sh writes it)");
        JsonObject c = JsonValue.Parse(File.ReadAllText(file)).AsObject;
        Assert.Equal(c["size"].ToInt64(), (long)Marshal.SizeOf(typeof(ClientConfig)), "sizeof(safe_client_config)");
        FieldInfo[] fields = typeof(ClientConfig).GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
        JsonObject offsets = c["offsets"].AsObject;
        Assert.Equal(offsets.Count, fields.Length, "one C# field per C field");
        foreach (var kv in offsets)
        {
            string pascal = string.Concat(kv.Key.Split('_').Select(p => char.ToUpperInvariant(p[0]) + p.Substring(1)));
            FieldInfo f = fields.FirstOrDefault(x => x.Name == pascal);
            Assert.True(f != null, "a field for " + kv.Key);
            Assert.Equal(kv.Value.ToInt64(), (long)Marshal.OffsetOf(typeof(ClientConfig), pascal), "offsetof(" + kv.Key + ")");
            long size = c["sizes"].AsObject[kv.Key].ToInt64();
            long managed = f.FieldType == typeof(IntPtr) ? IntPtr.Size : Marshal.SizeOf(f.FieldType);
            Assert.Equal(size, managed, "sizeof(" + kv.Key + ")");
        }
    }

    [Test]
    static void EveryImportIsCdecl()
    {
        MethodInfo[] imports = typeof(Native).GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            .Where(m => m.GetCustomAttribute<DllImportAttribute>() != null).ToArray();
        Assert.True(imports.Length > 50, "the imports: " + imports.Length);
        foreach (MethodInfo m in imports)
        {
            var a = m.GetCustomAttribute<DllImportAttribute>();
            Assert.True(a.CallingConvention == CallingConvention.Cdecl && a.Value == "safe_tracker", m.Name + ": Cdecl from safe_tracker");
        }
        foreach (Type t in typeof(Native).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(Delegate))))
        {
            var a = t.GetCustomAttribute<UnmanagedFunctionPointerAttribute>();
            Assert.True(a != null && a.CallingConvention == CallingConvention.Cdecl, t.Name + ": a Cdecl callback");
        }
        string header = File.ReadAllText(Path.Combine(Paths.Root, "include", "safe_tracker.h"));
        foreach (MethodInfo m in imports)
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(header, @"[ *]" + m.Name + @"\("), m.Name + " is a function of the header");
    }
}
