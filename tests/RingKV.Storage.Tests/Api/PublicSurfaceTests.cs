using System;
using System.Linq;
using Xunit;

namespace RingKV.Storage.Tests.Api;

/// <summary>
/// The embedding API is one namespace: a program that embeds the engine writes <c>using RingKV.Storage;</c> and
/// reaches every public type (the engine, its options, batches, snapshots, iterators, statistics, the file-system
/// seam), as LevelDB's users include only <c>include/leveldb/</c>. Everything else is internal.
/// </summary>
public sealed class PublicSurfaceTests
{
    [Fact]
    public void StorageAssembly_EveryPublicType_LivesInTheEmbeddingNamespace()
    {
        var exported = typeof(StorageEngine).Assembly.GetExportedTypes();

        var elsewhere = exported.Where(t => t.Namespace != "RingKV.Storage").Select(t => t.FullName).Order(StringComparer.Ordinal).ToList();

        Assert.True(exported.Length >= 10, $"only {exported.Length} public types: is this the storage assembly?");
        Assert.True(elsewhere.Count == 0, $"public types outside RingKV.Storage: {string.Join(", ", elsewhere)}");
    }

    [Fact]
    public void EmbeddingNamespace_OptionsTypes_AreAllReachable()
    {
        // What StorageOptions exposes must be nameable from the same namespace, or the one import is not enough.
        var options = typeof(StorageOptions).GetProperties().Select(p => p.PropertyType)
            .Select(t => Nullable.GetUnderlyingType(t) ?? t)
            .Where(t => t.Assembly == typeof(StorageEngine).Assembly);

        Assert.All(options, t => Assert.Equal("RingKV.Storage", t.Namespace));
    }
}
