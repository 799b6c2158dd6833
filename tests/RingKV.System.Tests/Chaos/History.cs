using System.Collections.Generic;
using System.Threading;

namespace RingKV.System.Tests.Chaos;

/// <summary>The operations of a run, appended by many clients at once.</summary>
/// <remarks>Thread-safe. <see cref="Snapshot"/> copies; the order of entries is the order they were completed in.</remarks>
public sealed class History
{
    private readonly Lock _lock = new();

    // Guarded by _lock.
    private readonly List<Operation> _operations = [];

    public void Add(Operation operation)
    {
        lock (_lock)
        {
            _operations.Add(operation);
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _operations.Count;
            }
        }
    }

    public List<Operation> Snapshot()
    {
        lock (_lock)
        {
            return [.. _operations];
        }
    }
}
