using System;
using System.Buffers;

namespace RingKV.Storage;

/// <summary>Combines a stored value with a written operand; the engine's merge hook.</summary>
/// <remarks>
/// Called under the engine's write serialization, so a merge is an atomic read-modify-write:
/// no other write to any key interleaves between reading <c>existing</c> and storing the result.
/// Must be deterministic and must not call back into the engine.
/// </remarks>
public interface IMergeOperator
{
    /// <summary>Writes the merged value of <paramref name="existing"/> (absent when <paramref name="hasExisting"/> is false) and <paramref name="operand"/>.</summary>
    void Merge(ReadOnlySpan<byte> key, bool hasExisting, ReadOnlySpan<byte> existing, ReadOnlySpan<byte> operand, IBufferWriter<byte> result);
}
