// The hand-written part of the exceptions: SafeTrackerException's properties and how a failed
// native call becomes the exception of its code. One subclass per code, the ErrorCode and
// ErrorClass enums and the code → class table are generated (Generated/Errors.g.cs).
using System;
using System.Collections.Generic;

namespace SafeTracker
{
    /// <summary>What the library said about a failure (its thread's last error).</summary>
    internal sealed class ErrorDetails
    {
        public ErrorCode Code;
        public string Message;
        public int HttpStatus;
        public string Path;
        public string Field;
        public double RetryAfterSeconds = -1;
        public long Seq;
        public long[] Ids = new long[0];

        /// <summary>The last error of this thread, for a call that returned <paramref name="code"/>.</summary>
        public static ErrorDetails Last(ErrorCode code)
        {
            var d = new ErrorDetails { Code = code };
            d.Message = Utf8.Read(Native.safe_last_error_message()) ?? code.ToString();
            d.HttpStatus = Native.safe_last_error_http_status();
            d.Path = Utf8.Read(Native.safe_last_error_path());
            d.Field = Utf8.Read(Native.safe_last_error_field());
            d.RetryAfterSeconds = Native.safe_last_error_retry_after();
            d.Seq = (long)Native.safe_last_error_seq();
            int count = (int)Native.safe_last_error_ids(null, UIntPtr.Zero);
            if (count > 0)
            {
                d.Ids = new long[count];
                Native.safe_last_error_ids(d.Ids, (UIntPtr)count);
            }
            return d;
        }
    }

    /// <summary>A failed call to SAFE or to the library. Catch a subclass for one code
    /// (<see cref="LicenseUnavailableException"/>, <see cref="RateLimitedException"/>…), or read
    /// <see cref="Code"/> and <see cref="Class"/>. The message never holds the token.</summary>
    public partial class SafeTrackerException : Exception
    {
        readonly ErrorDetails details;

        internal SafeTrackerException(ErrorDetails details, Exception inner)
            : base(details.Message, inner)
        {
            this.details = details;
        }

        /// <summary>The stable code, shared by every language of the SDK.</summary>
        public ErrorCode Code { get { return details.Code; } }

        /// <summary>What kind of failure this is (caller, account, transient…).</summary>
        public ErrorClass Class { get { return ErrorCodes.ClassOf(details.Code); } }

        /// <summary>True when the same call may succeed later without any change.</summary>
        public bool IsTransient { get { return ErrorCodes.IsTransient(details.Code); } }

        /// <summary>The HTTP status of SAFE's answer, or null when no answer came.</summary>
        public int? HttpStatus { get { return details.HttpStatus > 0 ? details.HttpStatus : (int?)null; } }

        /// <summary>The templated path of the request that failed (<c>items/seqOrgID/{n}</c>: never
        /// the number or id asked for), or null when there was no request.</summary>
        public string Path { get { return details.Path; } }

        /// <summary>The field at fault of a <see cref="ValidationException"/> (its wire name, e.g.
        /// <c>caseNumber</c>), or null when unknown.</summary>
        public string Field { get { return details.Field; } }

        /// <summary>How long SAFE asked us to wait (a 429's <c>Retry-After</c>), or null when it
        /// did not say.</summary>
        public TimeSpan? RetryAfter
        {
            get { return details.RetryAfterSeconds >= 0 ? TimeSpan.FromSeconds(details.RetryAfterSeconds) : (TimeSpan?)null; }
        }

        /// <summary>The sequential org id held by several items, for a
        /// <see cref="DuplicateNumberException"/> (null otherwise).</summary>
        public long? Seq { get { return details.Code == ErrorCode.DuplicateNumber ? details.Seq : (long?)null; } }

        /// <summary>The ids (ascending) of the items holding <see cref="Seq"/>, for a
        /// <see cref="DuplicateNumberException"/> (empty otherwise).</summary>
        public IReadOnlyList<long> Ids { get { return details.Ids; } }

        /// <summary>Throws the exception of <paramref name="code"/> unless it is
        /// <see cref="ErrorCode.Ok"/>, from this thread's last error.</summary>
        internal static void Check(ErrorCode code, Exception inner = null)
        {
            if (code != ErrorCode.Ok) throw FromLastError(code, inner);
        }

        /// <summary>The exception of <paramref name="code"/>, from this thread's last error.</summary>
        internal static SafeTrackerException FromLastError(ErrorCode code, Exception inner = null)
        {
            return Create(ErrorDetails.Last(code), inner);
        }

        /// <summary>An exception this library raises itself (a value SAFE's answer or the
        /// library's JSON does not fit).</summary>
        internal static SafeTrackerException Of(ErrorCode code, string message, Exception inner = null)
        {
            return Create(new ErrorDetails { Code = code, Message = message }, inner);
        }
    }
}
