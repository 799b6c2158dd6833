namespace RingKV.Server.Commands;

/// <summary>Versions the server reports.</summary>
internal static class ServerInfo
{
    /// <summary>The Redis version whose commands and replies RingKV follows; clients pick features by it.</summary>
    public static System.ReadOnlySpan<byte> RedisVersion => "7.2.0"u8;

    public const string RedisVersionText = "7.2.0";

    public const string Version = "0.1.0";
}
