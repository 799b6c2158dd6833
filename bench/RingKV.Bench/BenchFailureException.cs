using System;

namespace RingKV.Bench;

/// <summary>A sanity check of a run failed: the numbers would be meaningless, so the run stops.</summary>
public sealed class BenchFailureException : Exception
{
    public BenchFailureException()
    {
    }

    public BenchFailureException(string message)
        : base(message)
    {
    }

    public BenchFailureException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
