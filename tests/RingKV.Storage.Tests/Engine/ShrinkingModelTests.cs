using System;
using System.Collections.Generic;
using System.Threading;
using CsCheck;
using RingKV.Core.Hashing;
using RingKV.Core.Random;
using RingKV.Testing.Faults;
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

    /// <summary>Keys of the sequences: with values of up to 1000 bytes, their live records outgrow levels 1 and 2 of <see cref="TinyOptions"/>.</summary>
    private const int Keys = 64;

    private const int Iterations = 60;

    private static readonly Gen<Op> GenOp = Gen.Frequency(
        (12, Gen.Select(Gen.Int[0, Keys - 1], Gen.Int[0, 1000], (k, n) => new Op(Kind.Put, k, n))),
        (4, Gen.Int[0, Keys - 1].Select(k => new Op(Kind.Delete, k, 0))),
        (1, Gen.Const(new Op(Kind.Flush, 0, 0))),
        (1, Gen.Const(new Op(Kind.Compact, 0, 0))),
        (1, Gen.Const(new Op(Kind.Reopen, 0, 0))));

    [Xunit.Fact]
    public void Engine_OperationSequences_MatchModelAfterEveryOperation()
    {
        var deep = 0;
        GenOp.Array[1, 400].Sample(ops =>
        {
            var clock = new ManualTimeProvider();
            var options = TinyOptions("/mem/shrinking", clock, fileSystem: new CrashableFileSystem());
            var model = new EngineModel();
            var keys = new List<byte[]>();
            var deepest = -1;
            for (var k = 0; k < Keys; k++)
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
                            // Distinct and incompressible, so tables grow as the values do.
                            var value = new SplitMix64(++serial).NextBytes(op.ValueLength);
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

                    WaitForCompactions(engine);
                    AssertGets(engine, model, keys, clock.GetUtcNow());
                    deepest = Math.Max(deepest, DeepestLevel(engine));
                }

                AssertScan(engine, model, TokenRange.All, clock.GetUtcNow());
                if (deepest >= 3)
                {
                    Interlocked.Increment(ref deep);
                }
            }
            finally
            {
                engine.Dispose();
            }
        }, iter: Iterations);

        // Long sequences reach the levels where a tombstone dropped too early brings an older version back.
        Xunit.Assert.True(deep >= Iterations / 2, $"{deep} of {Iterations} sequences had tables at level 3 or deeper");
    }
}
