using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VlmService.Tests;

/// <summary>Runs a transformers.js script from tests/reference-runner and parses its JSON output.</summary>
internal static class ReferenceRunner
{
    public static JsonNode Run(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = TestPaths.ReferenceRunner,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(script);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using Process process = Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"node {script} failed ({process.ExitCode}): {stderr.Result}");
        }
        return JsonNode.Parse(stdout) ?? throw new InvalidOperationException($"node {script} printed no JSON.");
    }

    /// <summary>Writes <paramref name="request"/> to a temp file and passes its path as the script's argument.</summary>
    public static JsonNode RunWithRequest(string script, object request)
    {
        string path = Path.Combine(Path.GetTempPath(), $"vlm-ref-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(request));
        try
        {
            return Run(script, path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
