using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace VlmService.Tests.Api;

internal static class ApiJson
{
    public static async Task<(int Status, JsonNode? Body)> PostAsync(HttpClient client, string path, object body, CancellationToken cancellationToken = default)
    {
        using HttpResponseMessage response = await client.PostAsJsonAsync(path, body, cancellationToken);
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    public static async Task<(int Status, JsonNode? Body)> PostFormAsync(HttpClient client, string path, MultipartFormDataContent form)
    {
        using HttpResponseMessage response = await client.PostAsync(path, form);
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    private static async Task<JsonNode?> ReadAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    public static float[] Floats(JsonNode? node) => node!.AsArray().Select(v => v!.GetValue<float>()).ToArray();

    public static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }
}
