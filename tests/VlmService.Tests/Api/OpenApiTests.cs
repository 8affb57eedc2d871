using System.Text;
using System.Text.Json.Nodes;

namespace VlmService.Tests.Api;

[Collection(ModelFoldersCollection.Name)]
public sealed class OpenApiTests(ModelFolders models)
{
    [Fact]
    public async Task Swagger_ui_is_served_and_every_request_example_works_as_is()
    {
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        Assert.Contains("swagger", await client.GetStringAsync("/swagger/index.html"), StringComparison.OrdinalIgnoreCase);
        JsonNode document = JsonNode.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"))!;
        int examples = 0;
        foreach (string path in new[] { "/embed", "/classify", "/tokenize" })
        {
            JsonNode? example = document["paths"]![path]!["post"]!["requestBody"]!["content"]!["application/json"]!["example"];
            Assert.NotNull(example);
            using HttpResponseMessage response = await client.PostAsync(path, new StringContent(example.ToJsonString(), Encoding.UTF8, "application/json"));
            Assert.Equal(200, (int)response.StatusCode);
            examples++;
        }
        Assert.Equal(3, examples);
        Assert.NotNull(document["paths"]!["/models"]);
    }
}
