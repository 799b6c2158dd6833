namespace RingKV.Storage.Cache;

/// <summary>What the block cache knows of a value it holds: the memory to charge for it.</summary>
/// <remarks>
/// A cached value must be immutable: the cache drops its reference whenever it evicts, while readers that got the
/// value keep using it. The cache never looks inside, so it depends on none of the types it holds.
/// </remarks>
internal interface ICacheable
{
    /// <summary>Bytes charged against the cache's capacity while the value is cached.</summary>
    int ChargeBytes { get; }
}
