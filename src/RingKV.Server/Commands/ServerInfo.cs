using System.Reflection;
using System.Text;

namespace RingKV.Server.Commands;

/// <summary>The versions the server reports, each defined once.</summary>
internal static class ServerInfo
{
    /// <summary>
    /// The Redis version whose commands and replies RingKV follows: INFO's <c>redis_version</c> and HELLO's
    /// <c>version</c>. Clients pick features by it, so it names Redis, not RingKV.
    /// </summary>
    public const string RedisVersion = "7.2.0";

    /// <summary>
    /// RingKV's own version, for <c>ringkv --version</c>, the start log line and INFO's <c>ringkv_version</c>: this
    /// assembly's informational version, i.e. <c>Version</c> in Directory.Build.props, plus <c>+commit</c> when built
    /// from a git checkout.
    /// </summary>
    public static string Version { get; } =
        typeof(ServerInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary><see cref="RedisVersion"/> as bytes, for HELLO.</summary>
    public static byte[] RedisVersionUtf8 { get; } = Encoding.ASCII.GetBytes(RedisVersion);
}
