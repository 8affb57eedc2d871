using System.Buffers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using VlmService.Engine.Models;
using VlmService.Infrastructure;

namespace VlmService.Tests.Api;

public sealed class LargeBlockMemoryPoolTests
{
    [Fact]
    public void A_returned_block_is_handed_out_again_whole()
    {
        using var pool = new LargeBlockMemoryPool(blockSize: 64, keptBlocks: 4);
        IMemoryOwner<byte> first = pool.Rent(10);
        Assert.Equal(64, first.Memory.Length);
        Memory<byte> memory = first.Memory;
        first.Dispose();
        Assert.Equal((0, 1), (pool.Rented, pool.Kept));

        using IMemoryOwner<byte> second = pool.Rent();
        Assert.True(second.Memory.Span.Overlaps(memory.Span));
        Assert.Equal(64, second.Memory.Length);
        Assert.Equal((1, 0, 2L), (pool.Rented, pool.Kept, pool.Lent));
    }

    [Fact]
    public void Keeps_no_more_free_blocks_than_allowed_and_takes_a_block_back_once()
    {
        using var pool = new LargeBlockMemoryPool(blockSize: 16, keptBlocks: 2);
        IMemoryOwner<byte>[] blocks = [pool.Rent(), pool.Rent(), pool.Rent()];
        Assert.Equal(3, pool.Rented);
        foreach (IMemoryOwner<byte> block in blocks)
        {
            block.Dispose();
        }
        blocks[0].Dispose();
        Assert.Equal((0, 2), (pool.Rented, pool.Kept));
        Assert.Throws<ObjectDisposedException>(() => blocks[0].Memory);
    }

    [Fact]
    public void Refuses_a_request_larger_than_a_block()
    {
        using var pool = new LargeBlockMemoryPool(blockSize: 16, keptBlocks: 2);
        Assert.Equal(16, pool.MaxBufferSize);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(17));
    }
}

/// <summary>The service as Program builds it, over a real socket: Kestrel reads request bodies into the large-block pools.</summary>
[Collection(ModelFoldersCollection.Name)]
public sealed class KestrelTransportTests(ModelFolders models)
{
    [Fact]
    public async Task A_photo_sent_over_a_socket_arrives_in_large_blocks_and_embeds_as_in_memory()
    {
        object request = new { model = "clip-tiny", inputs = new[] { new { image = Convert.ToBase64String(File.ReadAllBytes(TestPaths.Photos.First())) } } };
        await using var inMemory = new VlmServiceFactory(models.Root);
        float[] expected = await EmbedAsync(await inMemory.ReadyClientAsync(), request);

        await using WebApplication app = VlmHost.Build(["--urls", "http://127.0.0.1:0", "--Models:Root", models.Root, "--Models:IntraOpThreads", "1"]);
        await app.StartAsync();
        await app.Services.GetRequiredService<ModelRegistry>().WhenReady.WaitAsync(TimeSpan.FromMinutes(2));
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        Assert.NotEqual(0, client.BaseAddress.Port);
        Assert.Equal(expected, await EmbedAsync(client, request));

        var factory = Assert.IsType<LargeBlockMemoryPoolFactory>(app.Services.GetRequiredService<IMemoryPoolFactory<byte>>());
        Assert.NotEmpty(factory.Pools);
        Assert.All(factory.Pools, pool => Assert.Equal(LargeBlockMemoryPoolFactory.BlockSize, pool.MaxBufferSize));
        Assert.True(factory.Pools.Sum(pool => pool.Lent) > 0);
        await app.StopAsync();
    }

    private static async Task<float[]> EmbedAsync(HttpClient client, object request)
    {
        using HttpResponseMessage response = await client.PostAsJsonAsync("/embed", request);
        Assert.Equal(200, (int)response.StatusCode);
        JsonNode body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return ApiJson.Floats(body["data"]![0]!["embedding"]);
    }
}
