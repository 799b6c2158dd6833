using System;
using System.Collections.Generic;
using RingKV.Testing.Processes;
using Xunit;

namespace RingKV.Server.Tests.Protocol;

/// <summary>--max-clients: connections over the limit are refused with Redis's error; freed slots are reused.</summary>
public sealed class MaxClientsTests
{
    [Fact]
    public void Connect_OverMaxClients_RefusedWithError()
    {
        using var server = new ServerProcess("--max-clients", "3");
        var clients = new List<RawClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var client = server.ConnectRaw();
                clients.Add(client);
                Assert.Equal("+PONG", client.CallText("PING")); // accepted and counted
            }

            using (var fourth = server.ConnectRaw())
            {
                var (text, closed) = fourth.ReadUntilClosed(TimeSpan.FromSeconds(15));
                Assert.Equal("-ERR max number of clients reached\r\n", text);
                Assert.True(closed, "the refused connection was left open");
            }

            foreach (var client in clients)
            {
                Assert.Equal("+PONG", client.CallText("PING"));
            }

            // A client leaves; its slot frees once the server has seen the close (poll with a deadline).
            Assert.Equal("+OK", clients[0].CallText("QUIT"));
            Assert.True(clients[0].ReadUntilClosed(TimeSpan.FromSeconds(15)).Closed);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (true)
            {
                using var again = server.ConnectRaw();
                again.Send(RawClient.Encode("PING"));
                var reply = RawClient.Describe(again.Read());
                if (reply == "+PONG")
                {
                    break;
                }

                Assert.Equal("-ERR max number of clients reached", reply);
                Assert.True(DateTime.UtcNow < deadline, "a freed client slot was not reused within 15 s");
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }
}
