using System.Threading;

namespace RingKV.Storage.Versions;

/// <summary>A reference count that starts at 1 (the creator's) and can no longer be taken once it reached 0.</summary>
/// <remarks>Thread-safe. A mutable struct: keep it in a field and call it through that field.</remarks>
internal struct RefCount
{
    private int _refs;

    public RefCount()
    {
        _refs = 1;
    }

    /// <summary>Takes a reference unless the owner is already retired.</summary>
    public bool TryRef()
    {
        var refs = Volatile.Read(ref _refs);
        while (refs > 0)
        {
            var seen = Interlocked.CompareExchange(ref _refs, refs + 1, refs);
            if (seen == refs)
            {
                return true;
            }

            refs = seen;
        }

        return false;
    }

    /// <summary>Drops a reference; true when it was the last, so the owner must release what it holds.</summary>
    public bool Unref() => Interlocked.Decrement(ref _refs) == 0;
}
