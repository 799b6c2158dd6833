using RingKV.Storage.Memtables;

namespace RingKV.Storage.Versions;

/// <summary>What a read needs, pinned together: the active memtable, the frozen ones and the table version.</summary>
/// <remarks>
/// Thread-safe. Replaced whole on every memtable switch, flush and compaction; a reader pins one with
/// <see cref="TryRef"/> (which fails once it is retired) so that no lock is taken on the read path.
/// </remarks>
internal sealed class SuperVersion
{
    private RefCount _refs = new();

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

    public bool TryRef() => _refs.TryRef();

    public void Unref()
    {
        if (_refs.Unref())
        {
            Version.Unref();
        }
    }
}
