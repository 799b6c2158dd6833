using System;
using System.Diagnostics.CodeAnalysis;

namespace RingKV.Core.Errors;

/// <summary>Throw helpers so hot methods stay small and inlinable.</summary>
public static class ThrowHelper
{
    /// <summary>Throws <see cref="CorruptionException"/>.</summary>
    [DoesNotReturn]
    public static void Corruption(string path, long offset, string what) => throw new CorruptionException(path, offset, what);

    /// <summary>Throws <see cref="RingKVException"/> with <see cref="ErrorCode.InvalidArgument"/>.</summary>
    [DoesNotReturn]
    public static void InvalidArgument(string message) => throw new RingKVException(ErrorCode.InvalidArgument, message);

    /// <summary>Throws <see cref="ObjectDisposedException"/>-like closed error.</summary>
    [DoesNotReturn]
    public static void Closed() => throw new RingKVException(ErrorCode.Closed, "the engine is closed");

    /// <summary>Throws <see cref="RingKVException"/> with the given code.</summary>
    [DoesNotReturn]
    public static void Fail(ErrorCode code, string message, Exception? inner = null) => throw new RingKVException(code, message, inner);
}
