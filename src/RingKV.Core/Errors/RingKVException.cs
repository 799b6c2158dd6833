using System;

namespace RingKV.Core.Errors;

/// <summary>A broken contract or damage, with a stable <see cref="ErrorCode"/>.</summary>
public class RingKVException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RingKVException(ErrorCode code, string message, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
    }

    /// <summary>Creates an internal error.</summary>
    public RingKVException()
        : this(ErrorCode.Internal, "internal error")
    {
    }

    /// <summary>Creates an internal error.</summary>
    public RingKVException(string message)
        : this(ErrorCode.Internal, message)
    {
    }

    /// <summary>Creates an internal error.</summary>
    public RingKVException(string message, Exception inner)
        : this(ErrorCode.Internal, message, inner)
    {
    }

    /// <summary>The stable code.</summary>
    public ErrorCode Code { get; }
}
