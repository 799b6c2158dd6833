using System.Threading;
using RingKV.Storage.Memtables;

namespace RingKV.Storage.Engine;

/// <summary>What a read needs, pinned together: the active memtable, the frozen ones and the table version.</summary>
/// <remarks>
/// Thread-safe. Replaced whole on every memtable switch, flush and compaction; a reader pins one with
/// <see cref="TryRef"/> (which fails once it is retired) so that no lock is taken on the read path.
/// </remarks>
internal sealed class SuperVersion
{
    private int _refs = 1;

    public SuperVersion(Memtable mem, Memtable[] immutables, Version version)
    {
        Mem = mem;
        Immutables = immutables;
        Version = version;
    }

    public Memtable Mem { get; }

    /// <summary>Frozen memtables, newest first.</summary>
    public Memtable[] Immutables { get; }

    /// <summary>The table version; this object holds one reference to it.</summary>
    public Version Version { get; }

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

    public void Unref()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            Version.Unref();
        }
    }
}
