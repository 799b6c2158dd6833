using System;
using System.Collections.Generic;
using System.Text;
using Xunit.Sdk;

namespace RingKV.Storage.Tests.Engine;

/// <summary>The recent operations of a seeded run, so a failure names its seed and what led to it.</summary>
internal sealed class SeededRun(string test, int seed)
{
    private const int Kept = 40;
    private readonly Queue<string> _recent = new();
    private int _step;

    public void Step(string operation)
    {
        _step++;
        _recent.Enqueue($"#{_step} {operation}");
        if (_recent.Count > Kept)
        {
            _recent.Dequeue();
        }
    }

    public XunitException Failure(Exception inner)
    {
        var text = new StringBuilder();
        text.Append(test).Append(" failed at step ").Append(_step).Append("; replay with RINGKV_SEED=").Append(seed).AppendLine();
        text.AppendLine("last operations:");
        foreach (var line in _recent)
        {
            text.Append("  ").AppendLine(line);
        }

        text.Append(inner.Message);
        return new XunitException(text.ToString(), inner);
    }
}
