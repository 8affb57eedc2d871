namespace VlmService.ModelKit;

/// <summary>
/// dotnet run --project tools/VlmService.ModelKit -c Release -- --family clip|siglip --preset tiny|base --seed N --out DIR [--tokenizer DIR]
/// </summary>
public static class ModelKitCli
{
    public static int Main(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                return Usage($"Unexpected argument '{args[i]}'.");
            }
            options[args[i][2..]] = args[++i];
        }
        if (!options.TryGetValue("family", out string? family) || !options.TryGetValue("out", out string? output))
        {
            return Usage("--family and --out are required.");
        }
        string preset = options.GetValueOrDefault("preset", "tiny");
        if (!int.TryParse(options.GetValueOrDefault("seed", "0"), out int seed))
        {
            return Usage("--seed must be an integer.");
        }
        try
        {
            ModelFolderWriter.Write(new ModelKitRequest(family, preset, seed, output, options.GetValueOrDefault("tokenizer")));
        }
        catch (Exception ex) when (ex is ArgumentException or IOException)
        {
            return Usage(ex.Message);
        }
        Console.WriteLine($"Wrote {family} ({preset}, seed {seed}) to {Path.GetFullPath(output)}");
        return 0;
    }

    private static int Usage(string problem)
    {
        Console.Error.WriteLine(problem);
        Console.Error.WriteLine("usage: --family clip|siglip --preset tiny|base --seed N --out DIR [--tokenizer DIR]");
        return 2;
    }
}
