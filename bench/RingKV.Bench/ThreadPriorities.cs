using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace RingKV.Bench;

/// <summary>Reads the nice values of this process's threads from <c>/proc</c>, to show a priority setting took effect.</summary>
internal static class ThreadPriorities
{
    /// <summary>The nice values of the threads whose name starts with <paramref name="namePrefix"/>, e.g. "0, 19"; "none" when there are none; "unknown" off Linux.</summary>
    public static string Describe(string namePrefix)
    {
        if (!Directory.Exists("/proc/self/task"))
        {
            return "unknown";
        }

        var nices = new List<string>();
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                var name = File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n');
                if (!name.StartsWith(namePrefix, StringComparison.Ordinal))
                {
                    continue;
                }

                // stat: "pid (comm) state ..."; after the closing parenthesis, nice is the 17th field.
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                nices.Add(int.Parse(fields[16], CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture));
            }
            catch (IOException)
            {
                // the thread ended while we looked
            }
        }

        return nices.Count == 0 ? "none" : string.Join(", ", nices);
    }
}
