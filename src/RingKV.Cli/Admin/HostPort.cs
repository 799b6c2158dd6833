using System;
using System.Globalization;

namespace RingKV.Cli.Admin;

/// <summary>Parses the host:port addresses the admin commands take.</summary>
internal static class HostPort
{
    /// <summary>Splits <c>host:port</c> (the host may be a bracketed IPv6 address).</summary>
    /// <exception cref="RespClientException">It is not host:port with a port from 1 to 65535.</exception>
    public static (string Host, int Port) Parse(string address)
    {
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || colon == address.Length - 1
            || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65535)
        {
            throw new RespClientException($"'{address}' is not host:port (e.g. 127.0.0.1:7379)");
        }

        var host = address[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return (host, port);
    }
}
