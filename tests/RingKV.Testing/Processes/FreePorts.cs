using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;

namespace RingKV.Testing.Processes;

/// <summary>Runs of loopback ports free for a local cluster's client, proxy and peer listeners.</summary>
public static class FreePorts
{
    private static int s_next;

    /// <summary>
    /// A base port P such that P..P+count-1 and P+10000..P+10000+count-1 are free now. Both runs stay below 32768,
    /// where Linux's ephemeral range starts, so the kernel does not hand them to outgoing connections (or to another
    /// test's port-0 listener) meanwhile; each call starts where the last one ended, so tests running in parallel
    /// in this process do not probe the same run and race to bind it.
    /// </summary>
    public static int BasePort(int count)
    {
        const int First = 20000, Span = 32768 - 10000 - First; // peer ports P+10000 end below 32768
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var offset = Interlocked.Add(ref s_next, count + 1) - (count + 1);
            var candidate = First + (((Environment.ProcessId * 7) + offset) % (Span - count));
            if (AllFree(candidate, count))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("no free run of ports for a local cluster");
    }

    private static bool AllFree(int basePort, int count)
    {
        for (var i = 0; i < count; i++)
        {
            foreach (var port in new[] { basePort + i, basePort + i + 10000 })
            {
                var probe = new TcpListener(IPAddress.Loopback, port);
                try
                {
                    probe.Start();
                }
                catch (SocketException)
                {
                    return false;
                }
                finally
                {
                    probe.Stop();
                }
            }
        }

        return true;
    }
}
