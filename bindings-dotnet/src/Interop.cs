// How the library calls libsafe_tracker: UTF-8 strings in and out, one SafeHandle class per
// opaque handle of the C ABI, and NativeCall, which runs a blocking native call with a
// cancellation handle a CancellationToken triggers. The P/Invoke declarations themselves are
// generated from the C header (Generated/Native.g.cs).
using System;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace SafeTracker
{
    /// <summary>UTF-8 text to and from the library: what the host allocates it frees itself
    /// (<see cref="Free"/>), what the library allocates only the library frees
    /// (<see cref="Take"/>).</summary>
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

        /// <summary>Reads a borrowed string (NULL: null).</summary>
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

    /// <summary>A handle of the library, freed by its own <c>_free</c> function exactly once.</summary>
    internal abstract class LibraryHandle : SafeHandle
    {
        protected LibraryHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
    }

    internal sealed class ClientHandle : LibraryHandle
    {
        protected override bool ReleaseHandle() { Native.safe_client_free(handle); return true; }
    }

    internal sealed class ItemHandle : LibraryHandle
    {
        protected override bool ReleaseHandle() { Native.safe_item_free(handle); return true; }
    }

    internal sealed class ItemListHandle : LibraryHandle
    {
        protected override bool ReleaseHandle() { Native.safe_item_list_free(handle); return true; }
    }

    internal sealed class PollerHandle : LibraryHandle
    {
        GCHandle state;

        /// <summary>Keeps <paramref name="s"/> (what the poller's callbacks reach through their
        /// user data) until the native poller is freed.</summary>
        internal void Keep(GCHandle s) { state = s; }

        protected override bool ReleaseHandle()
        {
            // Freeing may run the one save of an abandoned sweep: the state lives until after.
            Native.safe_poller_free(handle);
            if (state.IsAllocated) state.Free();
            return true;
        }
    }

    internal sealed class CancelHandle : LibraryHandle
    {
        protected override bool ReleaseHandle() { Native.safe_cancel_free(handle); return true; }
    }

    internal sealed class SweepHandle : LibraryHandle
    {
        protected override bool ReleaseHandle() { Native.safe_sweep_free(handle); return true; }
    }

    /// <summary>Runs the library's blocking calls for the async and blocking methods alike.</summary>
    internal static class NativeCall
    {
        /// <summary>Runs <paramref name="call"/> with a cancellation handle of its own that
        /// <paramref name="ct"/> triggers (the native call then gives up its request and fails
        /// with <see cref="ErrorCode.Cancelled"/>, thrown as an
        /// <see cref="OperationCanceledException"/> for that token).</summary>
        public static T Run<T>(Func<CancelHandle, T> call, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            CancelHandle cancel;
            SafeTrackerException.Check(Native.safe_cancel_new(out cancel));
            using (cancel)
            {
                CancellationTokenRegistration registration = ct.CanBeCanceled
                    ? ct.Register(() => Native.safe_cancel_trigger(cancel))
                    : default(CancellationTokenRegistration);
                // Disposing the registration waits for a trigger that is running, so the handle
                // is never freed under it.
                using (registration)
                {
                    try
                    {
                        return call(cancel);
                    }
                    catch (CancelledException e) when (ct.IsCancellationRequested)
                    {
                        throw new OperationCanceledException(e.Message, e, ct);
                    }
                }
            }
        }

        /// <summary><see cref="Run{T}"/> on a thread-pool thread: the library's calls block their
        /// thread, never the caller's.</summary>
        public static Task<T> RunAsync<T>(Func<CancelHandle, T> call, CancellationToken ct)
        {
            if (ct.IsCancellationRequested) return CanceledTask<T>(ct);
            return Task.Run(() => Run(call, ct), ct);
        }

        static Task<T> CanceledTask<T>(CancellationToken ct)
        {
            var source = new TaskCompletionSource<T>();
            source.SetCanceled();
            return source.Task;
        }
    }
}
