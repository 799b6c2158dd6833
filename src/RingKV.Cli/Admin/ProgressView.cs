using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using Spectre.Console;

namespace RingKV.Cli.Admin;

/// <summary>
/// Follows a membership change to its end: polls, and shows a live Spectre.Console bar (percent, bytes, rate, time
/// left) on a terminal, or plain progress lines when stdout is redirected.
/// </summary>
/// <remarks>
/// Rejected alternative: the live bar everywhere. Redirected, Spectre.Console draws nothing until the end, so a script's
/// log or a CI run would show no sign of a change that takes minutes; a line per point or per few seconds does.
/// </remarks>
internal static class ProgressView
{
    /// <summary>How often the change is polled.</summary>
    public static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    /// <summary>How far back the rate and the time left look.</summary>
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    /// <summary>Redirected, a line is printed when the percent moved this many points since the last one...</summary>
    private const double LinePoints = 1.0;

    /// <summary>...or this long passed.</summary>
    private static readonly TimeSpan LineInterval = TimeSpan.FromSeconds(5);

    /// <summary>Whether stdout is a terminal that can redraw a live bar.</summary>
    public static bool IsLive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>
    /// Calls <paramref name="poll"/> every <see cref="Poll"/> until it says done or failed, or <paramref name="timeout"/>
    /// passes, showing the progress under <paramref name="title"/>: live when <paramref name="live"/>, else as lines on
    /// <paramref name="plain"/>.
    /// </summary>
    public static ProgressOutcome Follow(string title, Func<ProgressStep> poll, TimeSpan timeout, bool live, TextWriter plain)
    {
        var progress = new StreamProgress(Window);
        var clock = Stopwatch.StartNew();
        if (!live)
        {
            return Loop(progress, clock, poll, timeout, () => plain.WriteLine(progress.Line(title)), throttled: true, title);
        }

        ProgressOutcome outcome = default;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn())
            .Start(context =>
            {
                var bar = context.AddTask(Markup.Escape(title), autoStart: true, maxValue: 100);
                outcome = Loop(progress, clock, poll, timeout, () =>
                {
                    bar.Value = progress.Percent;
                    bar.Description = Markup.Escape($"{title}: {progress.Detail()}");
                }, throttled: false, title);
                if (outcome.Done)
                {
                    bar.Value = 100;
                }

                bar.StopTask();
            });
        return outcome;
    }

    private static ProgressOutcome Loop(StreamProgress progress, Stopwatch clock, Func<ProgressStep> poll, TimeSpan timeout, Action show, bool throttled, string title)
    {
        var shownPercent = double.NaN;
        var shownAt = TimeSpan.Zero;
        while (true)
        {
            var step = poll();
            var now = clock.Elapsed;
            progress.Add(now, step.Done ? 100 : step.Percent, step.Bytes);
            var end = step.Done || step.Failure is not null || now >= timeout;
            if (!throttled || end || double.IsNaN(shownPercent) || progress.Percent - shownPercent >= LinePoints || now - shownAt >= LineInterval)
            {
                show();
                shownPercent = progress.Percent;
                shownAt = now;
            }

            if (step.Done)
            {
                return new ProgressOutcome(true, false, null, progress.Percent);
            }

            if (step.Failure is not null)
            {
                return new ProgressOutcome(false, false, step.Failure, progress.Percent);
            }

            if (now >= timeout)
            {
                return new ProgressOutcome(false, true, $"{title} did not finish within {timeout.TotalSeconds:0.#} s (at {progress.Percent:0.0}%)", progress.Percent);
            }

            Thread.Sleep(Poll);
        }
    }
}

/// <summary>One poll of a change: its percent and bytes moved so far, and whether it ended (done, or failed and why).</summary>
internal readonly record struct ProgressStep(double Percent, long Bytes, bool Done = false, string? Failure = null);

/// <summary>How a followed change ended: done; timed out (it may still finish); or failed (<see cref="Failure"/> says why). <see cref="Percent"/> is the last seen.</summary>
internal readonly record struct ProgressOutcome(bool Done, bool TimedOut, string? Failure, double Percent);
