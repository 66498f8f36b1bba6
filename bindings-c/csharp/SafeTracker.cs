// C# wrapper over libsafe_tracker (P/Invoke): SafeHandle subclasses for every handle,
// exceptions raised from status codes with the library's last-error message, and a poller
// whose record delegate is kept alive for the whole native call. The Status enum is generated
// into Status.cs (`make codegen`).
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;

namespace SafeTracker
{
    /// <summary>A failed call: the status, the library's message, the HTTP status and Retry-After;
    /// for <see cref="Status.DuplicateNumber"/> also the number and the ids of the items holding it.</summary>
    public class SafeException : Exception
    {
        public Status Code { get; private set; }
        public int HttpStatus { get; private set; }
        public double RetryAfterSeconds { get; private set; }
        /// <summary>The sequential org id of a <see cref="Status.DuplicateNumber"/> (0 otherwise).</summary>
        public ulong Seq { get; private set; }
        /// <summary>The ids (ascending) of the items holding <see cref="Seq"/> (empty otherwise).</summary>
        public long[] Ids { get; private set; }

        public SafeException(Status code, string message, int httpStatus, double retryAfter, Exception inner = null,
                             ulong seq = 0, long[] ids = null)
            : base(message, inner)
        {
            Code = code;
            HttpStatus = httpStatus;
            RetryAfterSeconds = retryAfter;
            Seq = seq;
            Ids = ids ?? new long[0];
        }

        internal static void Check(Status status, Exception inner = null)
        {
            if (status == Status.Ok) return;
            string message = Utf8.Read(Native.safe_last_error_message()) ?? status.ToString();
            int count = (int)Native.safe_last_error_ids(null, UIntPtr.Zero);
            var ids = new long[count];
            if (count > 0) Native.safe_last_error_ids(ids, (UIntPtr)count);
            throw new SafeException(status, message, Native.safe_last_error_http_status(), Native.safe_last_error_retry_after(), inner,
                                    Native.safe_last_error_seq(), ids);
        }
    }

    internal static class Utf8
    {
        public static IntPtr Alloc(string s)
        {
            if (s == null) return IntPtr.Zero;
            byte[] bytes = Encoding.UTF8.GetBytes(s);
            IntPtr p = Marshal.AllocHGlobal(bytes.Length + 1);
            Marshal.Copy(bytes, 0, p, bytes.Length);
            Marshal.WriteByte(p, bytes.Length, 0);
            return p;
        }

        public static void Free(IntPtr p)
        {
            if (p != IntPtr.Zero) Marshal.FreeHGlobal(p);
        }

        public static string Read(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            int len = 0;
            while (Marshal.ReadByte(p, len) != 0) len++;
            byte[] bytes = new byte[len];
            Marshal.Copy(p, bytes, 0, len);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Reads a string the library allocated, then frees it with safe_string_free.</summary>
        public static string Take(IntPtr p)
        {
            try { return Read(p); } finally { Native.safe_string_free(p); }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct ClientConfig
    {
        public IntPtr BaseUrl;
        public IntPtr Token;
        public ulong OrganizationId;
        public ulong OfficeId;
        public double RequestsPerSecond;
        public uint MaxAttempts;
        public ulong AttemptTimeoutMs;
        public IntPtr CaFile;
        public IntPtr OptionsJson;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate int RecordCallback(IntPtr userData, IntPtr item, IntPtr recordJson);

    internal static class Native
    {
        const string Lib = "safe_tracker";
        [DllImport(Lib)] internal static extern Status safe_client_new(ref ClientConfig config, out ClientHandle client);
        [DllImport(Lib)] internal static extern Status safe_client_from_env(out ClientHandle client);
        [DllImport(Lib)] internal static extern void safe_client_free(IntPtr client);
        [DllImport(Lib)] internal static extern Status safe_client_call(ClientHandle client, IntPtr method, IntPtr args, out IntPtr json);
        [DllImport(Lib)] internal static extern Status safe_item_by_seq(ClientHandle client, ulong seq, out ItemHandle item);
        [DllImport(Lib)] internal static extern void safe_item_free(IntPtr item);
        [DllImport(Lib)] internal static extern IntPtr safe_item_json(ItemHandle item);
        [DllImport(Lib)] internal static extern IntPtr safe_item_description(ItemHandle item);
        [DllImport(Lib)] internal static extern long safe_item_sequential_org_id(ItemHandle item);
        [DllImport(Lib)] internal static extern long safe_item_id(ItemHandle item);
        [DllImport(Lib)] internal static extern long safe_item_primary_case_id(ItemHandle item);
        [DllImport(Lib)] internal static extern long safe_item_sequential_org_id(IntPtr item);
        [DllImport(Lib)] internal static extern IntPtr safe_item_json(IntPtr item);
        [DllImport(Lib)] internal static extern IntPtr safe_item_description(IntPtr item);
        [DllImport(Lib)] internal static extern long safe_item_id(IntPtr item);
        [DllImport(Lib)] internal static extern long safe_item_primary_case_id(IntPtr item);
        [DllImport(Lib)] internal static extern Status safe_items_by_seq(ClientHandle client, ulong seq, out ItemListHandle list);
        [DllImport(Lib)] internal static extern UIntPtr safe_item_list_len(ItemListHandle list);
        [DllImport(Lib)] internal static extern IntPtr safe_item_list_get(ItemListHandle list, UIntPtr index);
        [DllImport(Lib)] internal static extern void safe_item_list_free(IntPtr list);
        [DllImport(Lib)] internal static extern Status safe_poller_skip(PollerHandle poller, ulong seq, IntPtr reason, out IntPtr json);
        [DllImport(Lib)] internal static extern Status safe_poller_new(ClientHandle client, IntPtr kind, IntPtr checkpoint, IntPtr options, out PollerHandle poller);
        [DllImport(Lib)] internal static extern void safe_poller_free(IntPtr poller);
        [DllImport(Lib)] internal static extern Status safe_poller_sweep(PollerHandle poller, RecordCallback callback, IntPtr userData, out IntPtr report);
        [DllImport(Lib)] internal static extern Status safe_poller_run_forever(PollerHandle poller, RecordCallback callback, IntPtr userData);
        [DllImport(Lib)] internal static extern Status safe_poller_status(PollerHandle poller, out IntPtr json);
        [DllImport(Lib)] internal static extern Status safe_poller_cancel_handle(PollerHandle poller, out CancelHandle cancel);
        [DllImport(Lib)] internal static extern Status safe_cancel_trigger(CancelHandle cancel);
        [DllImport(Lib)] internal static extern void safe_cancel_free(IntPtr cancel);
        [DllImport(Lib)] internal static extern void safe_string_free(IntPtr s);
        [DllImport(Lib)] internal static extern IntPtr safe_last_error_message();
        [DllImport(Lib)] internal static extern int safe_last_error_http_status();
        [DllImport(Lib)] internal static extern double safe_last_error_retry_after();
        [DllImport(Lib)] internal static extern ulong safe_last_error_seq();
        [DllImport(Lib)] internal static extern UIntPtr safe_last_error_ids([Out] long[] ids, UIntPtr capacity);
    }

    public sealed class ClientHandle : SafeHandle
    {
        public ClientHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle() { Native.safe_client_free(handle); return true; }
    }

    public sealed class ItemHandle : SafeHandle
    {
        public ItemHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle() { Native.safe_item_free(handle); return true; }
    }

    public sealed class ItemListHandle : SafeHandle
    {
        public ItemListHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle() { Native.safe_item_list_free(handle); return true; }
    }

    public sealed class PollerHandle : SafeHandle
    {
        public PollerHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle() { Native.safe_poller_free(handle); return true; }
    }

    public sealed class CancelHandle : SafeHandle
    {
        public CancelHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle() { Native.safe_cancel_free(handle); return true; }
    }

    /// <summary>An evidence item: key fields, plus the whole document as JSON.</summary>
    public sealed class Item
    {
        public long SequentialOrgId;
        public long Id;
        public long PrimaryCaseId;
        public string Description;
        public string Json;

        /// <summary>Copies the fields of a borrowed native item (an element of a list).</summary>
        internal static Item From(IntPtr item)
        {
            return new Item
            {
                SequentialOrgId = Native.safe_item_sequential_org_id(item),
                Id = Native.safe_item_id(item),
                PrimaryCaseId = Native.safe_item_primary_case_id(item),
                Description = Utf8.Read(Native.safe_item_description(item)),
                Json = Utf8.Read(Native.safe_item_json(item)),
            };
        }
    }

    /// <summary>One poller record. Delivery is at least once: store records by upserting on their
    /// key, (organization id, <see cref="ItemId"/>), or (organization id, <see cref="SequentialOrgId"/>)
    /// for an item without an id (<see cref="ItemId"/> 0, with a warning in the record) — the
    /// record JSON's "key". A sequential org id is not an identity: several records may share one
    /// (one per item, ascending id) and an item may come back later under another number.</summary>
    public sealed class Record
    {
        public long SequentialOrgId;
        /// <summary>The item id (0 when the item has none).</summary>
        public long ItemId;
        /// <summary>The whole record as JSON: key, organization_id, sequential_org_id, item, warnings…</summary>
        public string Json;
    }

    /// <summary>A SAFE client. Calls block the calling thread.</summary>
    public sealed class Client : IDisposable
    {
        readonly ClientHandle handle;

        Client(ClientHandle h) { handle = h; }

        public Client(string baseUrl, string token, ulong organizationId, ulong officeId,
                      double requestsPerSecond = -1, string optionsJson = null)
        {
            var cfg = new ClientConfig();
            cfg.BaseUrl = Utf8.Alloc(baseUrl);
            cfg.Token = Utf8.Alloc(token);
            cfg.OptionsJson = Utf8.Alloc(optionsJson);
            cfg.OrganizationId = organizationId;
            cfg.OfficeId = officeId;
            cfg.RequestsPerSecond = requestsPerSecond;
            try
            {
                ClientHandle h;
                SafeException.Check(Native.safe_client_new(ref cfg, out h));
                handle = h;
            }
            finally
            {
                Utf8.Free(cfg.BaseUrl);
                Utf8.Free(cfg.Token);
                Utf8.Free(cfg.OptionsJson);
            }
        }

        /// <summary>From SAFE_BASE_URL, SAFE_TOKEN, SAFE_ORGANIZATION_ID, SAFE_OFFICE_ID.</summary>
        public static Client FromEnvironment()
        {
            ClientHandle h;
            SafeException.Check(Native.safe_client_from_env(out h));
            return new Client(h);
        }

        internal ClientHandle Handle { get { return handle; } }

        /// <summary>The item with this sequential org id, or null for the blank answer. A number held
        /// by several items throws a <see cref="SafeException"/> with <see cref="SafeTracker.Status.DuplicateNumber"/>
        /// (its Seq and Ids name them): read such a number with <see cref="ItemsBySeq"/>.</summary>
        public Item ItemBySeq(ulong seq)
        {
            ItemHandle h;
            SafeException.Check(Native.safe_item_by_seq(handle, seq, out h));
            if (h.IsInvalid) { h.Dispose(); return null; }
            using (h)
            {
                return new Item
                {
                    SequentialOrgId = Native.safe_item_sequential_org_id(h),
                    Id = Native.safe_item_id(h),
                    PrimaryCaseId = Native.safe_item_primary_case_id(h),
                    Description = Utf8.Read(Native.safe_item_description(h)),
                    Json = Utf8.Read(Native.safe_item_json(h)),
                };
            }
        }

        /// <summary>Every item holding this sequential org id, in ascending id order (items without
        /// an id last); empty for the blank answer.</summary>
        public Item[] ItemsBySeq(ulong seq)
        {
            ItemListHandle h;
            SafeException.Check(Native.safe_items_by_seq(handle, seq, out h));
            using (h)
            {
                int count = (int)Native.safe_item_list_len(h);
                var items = new Item[count];
                for (int i = 0; i < count; i++)
                    items[i] = Item.From(Native.safe_item_list_get(h, (UIntPtr)i)); // borrowed from the list
                return items;
            }
        }

        /// <summary>Any endpoint by name with JSON arguments; returns the JSON answer.</summary>
        public string Call(string method, string argsJson)
        {
            IntPtr m = Utf8.Alloc(method), a = Utf8.Alloc(argsJson);
            try
            {
                IntPtr json;
                SafeException.Check(Native.safe_client_call(handle, m, a, out json));
                return Utf8.Take(json);
            }
            finally { Utf8.Free(m); Utf8.Free(a); }
        }

        public void Dispose() { handle.Dispose(); }
    }

    /// <summary>The sequential poller. The record delegate is kept alive for the whole call.</summary>
    public sealed class Poller : IDisposable
    {
        readonly PollerHandle handle;

        /// <param name="checkpointJson">{"kind":"memory"}, {"kind":"file","path":...} or {"kind":"sqlite","path":...}</param>
        public Poller(Client client, string checkpointJson, string optionsJson = null, string kind = "items")
        {
            IntPtr k = Utf8.Alloc(kind), c = Utf8.Alloc(checkpointJson), o = Utf8.Alloc(optionsJson);
            try
            {
                PollerHandle h;
                SafeException.Check(Native.safe_poller_new(client.Handle, k, c, o, out h));
                handle = h;
            }
            finally { Utf8.Free(k); Utf8.Free(c); Utf8.Free(o); }
        }

        static RecordCallback Wrap(Func<Record, bool> handler, Exception[] failure)
        {
            return (userData, item, json) =>
            {
                try
                {
                    var record = new Record
                    {
                        SequentialOrgId = Native.safe_item_sequential_org_id(item),
                        ItemId = Native.safe_item_id(item),
                        Json = Utf8.Read(json),
                    };
                    return handler(record) ? 0 : 1;
                }
                catch (Exception e)
                {
                    failure[0] = e;
                    return 1; // not acknowledged
                }
            };
        }

        static Func<Record, bool> ByNumber(Func<long, string, bool> handler)
        {
            return r => handler(r.SequentialOrgId, r.Json);
        }

        /// <summary>One sweep: handler(sequentialOrgId, recordJson) returns true to acknowledge.
        /// Returns the report JSON.</summary>
        public string Sweep(Func<long, string, bool> handler) { return Sweep(ByNumber(handler)); }

        /// <summary>One sweep: handler(record) returns true to acknowledge (upsert by the record's
        /// key, see <see cref="Record"/>). Returns the report JSON.</summary>
        public string Sweep(Func<Record, bool> handler)
        {
            var failure = new Exception[1];
            RecordCallback callback = Wrap(handler, failure);
            IntPtr report;
            Status status = Native.safe_poller_sweep(handle, callback, IntPtr.Zero, out report);
            GC.KeepAlive(callback);
            SafeException.Check(status, failure[0]);
            return Utf8.Take(report);
        }

        /// <summary>Sweeps on the schedule until cancelled.</summary>
        public void RunForever(Func<long, string, bool> handler) { RunForever(ByNumber(handler)); }

        /// <summary>Sweeps on the schedule until cancelled.</summary>
        public void RunForever(Func<Record, bool> handler)
        {
            var failure = new Exception[1];
            RecordCallback callback = Wrap(handler, failure);
            Status status = Native.safe_poller_run_forever(handle, callback, IntPtr.Zero);
            GC.KeepAlive(callback);
            SafeException.Check(status, failure[0]);
        }

        /// <summary>Steps over number <paramref name="seq"/> for good, with the operator's reason
        /// (required): allowed for the cursor, an open hole, or the number the poller is stuck at
        /// (the status JSON's "stuck"); otherwise <see cref="SafeTracker.Status.Validation"/>, and
        /// <see cref="SafeTracker.Status.Checkpoint"/> while a sweep runs. Returns the recorded skip as JSON
        /// ({"seq","reason","at","error"?}), also listed in the status JSON's "skipped".</summary>
        public string Skip(ulong seq, string reason)
        {
            IntPtr r = Utf8.Alloc(reason);
            try
            {
                IntPtr json;
                SafeException.Check(Native.safe_poller_skip(handle, seq, r, out json));
                return Utf8.Take(json);
            }
            finally { Utf8.Free(r); }
        }

        /// <summary>The status JSON: cursor, holes, last sweep, "stuck" (null or the number the last
        /// sweeps failed at and why), "partial", "skipped" and "duplicate_numbers".</summary>
        public string Status()
        {
            IntPtr json;
            SafeException.Check(Native.safe_poller_status(handle, out json));
            return Utf8.Take(json);
        }

        /// <summary>A token that cancels this poller from any thread.</summary>
        public Action CancelAction()
        {
            CancelHandle c;
            SafeException.Check(Native.safe_poller_cancel_handle(handle, out c));
            return () => { SafeException.Check(Native.safe_cancel_trigger(c)); };
        }

        public void Dispose() { handle.Dispose(); }
    }
}
