using System;
using System.Collections.Generic;
using CsCheck;
using RingKV.Core.Hashing;
using RingKV.Testing.Support;
using static RingKV.Storage.Tests.Engine.EngineChecks;

namespace RingKV.Storage.Tests.Engine;

/// <summary>
/// The model test as a CsCheck property: random operation sequences, and on failure CsCheck shrinks them to
/// a short sequence that still fails and prints its seed (<c>CsCheck_Seed</c> replays it).
/// </summary>
/// <remarks><see cref="ModelTests"/> runs longer sequences with our own PRNG; this one trades length for shrinking.</remarks>
public sealed class ShrinkingModelTests
{
    private enum Kind
    {
        Put,
        Delete,
        Flush,
        Compact,
        Reopen,
    }

    private readonly record struct Op(Kind Kind, int Key, int ValueLength)
    {
        public override string ToString() => Kind switch
        {
            Kind.Put => $"put k{Key} ({ValueLength} bytes)",
            Kind.Delete => $"delete k{Key}",
            _ => Kind.ToString().ToLowerInvariant(),
        };
    }

    private static readonly Gen<Op> GenOp = Gen.Frequency(
        (12, Gen.Select(Gen.Int[0, 15], Gen.Int[0, 400], (k, n) => new Op(Kind.Put, k, n))),
        (4, Gen.Int[0, 15].Select(k => new Op(Kind.Delete, k, 0))),
        (1, Gen.Const(new Op(Kind.Flush, 0, 0))),
        (1, Gen.Const(new Op(Kind.Compact, 0, 0))),
        (1, Gen.Const(new Op(Kind.Reopen, 0, 0))));

    [Xunit.Fact]
    public void Engine_OperationSequences_MatchModelAfterEveryOperation() =>
        GenOp.Array[1, 120].Sample(ops =>
        {
            var clock = new ManualTimeProvider();
            using var dir = new TempDirectory();
            var options = TinyOptions(dir.Path, clock);
            var model = new EngineModel();
            var keys = new List<byte[]>();
            for (var k = 0; k < 16; k++)
            {
                keys.Add(System.Text.Encoding.UTF8.GetBytes($"k{k}"));
            }

            var engine = StorageEngine.Open(options);
            try
            {
                var serial = 0;
                foreach (var op in ops)
                {
                    switch (op.Kind)
                    {
                        case Kind.Put:
                            var value = new byte[op.ValueLength];
                            value.AsSpan().Fill((byte)serial++);
                            engine.Put(keys[op.Key], value);
                            model.Put(keys[op.Key], value);
                            break;
                        case Kind.Delete:
                            engine.Delete(keys[op.Key]);
                            model.Delete(keys[op.Key]);
                            break;
                        case Kind.Flush:
                            engine.Flush();
                            break;
                        case Kind.Compact:
                            engine.CompactAll();
                            break;
                        case Kind.Reopen:
                            engine.Dispose();
                            engine = StorageEngine.Open(options);
                            break;
                    }

                    AssertGets(engine, model, keys, clock.GetUtcNow());
                }

                AssertScan(engine, model, TokenRange.All, clock.GetUtcNow());
            }
            finally
            {
                engine.Dispose();
            }
        }, iter: 60);
}
