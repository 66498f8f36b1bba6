// Every endpoint, async and blocking, typed, against the simulator; the client's options,
// FromEnvironment, threads, and cancellation of a call from another thread.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using SafeTracker;

static class ClientTests
{
    [Test]
    static async Task ItemsAndTheirParts()
    {
        using (SafeTrackerClient client = Simulator.Shared.Client(1))
        {
            Item item = await client.GetItemBySequenceAsync(1);
            Assert.True(item != null && item.SequentialOrgId == 1, "item 1");
            Assert.True(item.Id.HasValue && item.PrimaryCaseId.HasValue && item.Description != null, "its typed fields");
            Assert.True(item.Extra.ContainsKey("caseModels"), "unknown keys are kept in Extra");
            Assert.Equal(item.ToJson().ToString(), (await client.GetItemAsync(item.Id.Value)).ToJson().ToString(), "by id: the same item");
            Assert.True(await client.GetItemBySequenceAsync(10000) == null, "the blank answer is null");
            Assert.Equal(0, (await client.GetItemsBySequenceAsync(10000)).Count, "the blank answer is an empty list");
            IReadOnlyList<Item> ofFour = await client.GetItemsBySequenceAsync(4);
            Assert.True(ofFour.Count == 1 && ofFour[0].SequentialOrgId == 4, "one item of 4");

            IReadOnlyList<FormDataEntry> forms = await client.GetItemFormDataAsync(item.Id.Value);
            Assert.Equal("Drug Form Sys Template", forms[0].FormName, "form name");
            Assert.True(forms[0].Data.Fields != null && forms[0].Data.Fields.ContainsKey("field6199"), "form data decoded");
            Assert.True(forms[0].Data.Raw.Contains("field2849"), "form data raw text kept");
            Assert.Equal(item.Id, (await client.GetChainOfCustodyAsync(item.Id.Value))[0].ItemId, "custody of the item");

            Case c = await client.GetCaseAsync(item.PrimaryCaseId.Value);
            Assert.True(c.CaseNumber != null && c.CaseNumber == item.PrimaryCaseNumber, "the item's case");
            Assert.Equal(c.Id, (await client.GetCaseByNumberAsync(c.CaseNumber)).Id, "case by number");
            IReadOnlyList<Person> people = await client.GetCasePeopleAsync(item.PrimaryCaseId.Value);
            Assert.True(people.Count == 2 && people.All(p => p.PersonTypeId.HasValue), "the case's people");

            SearchPage page = await client.GetItemsAfterSequenceAsync(55);
            Assert.Sequence(new long?[] { 56, 57, 58, 59, 60 }, page.Entities.Select(i => i.SequentialOrgId), "items after 55");
            SearchPage two = await client.GetItemsAfterSequenceAsync(0, pageSize: 2);
            Assert.Equal(2, two.Entities.Count, "page size");
            Assert.True(client.RequestsSent >= 11, "requests counted: " + client.RequestsSent);
        }
    }

    [Test]
    static void BlockingTwins()
    {
        using (SafeTrackerClient client = Simulator.Shared.Client(1))
        {
            Item item = client.GetItemBySequence(2);
            Assert.True(item != null && item.SequentialOrgId == 2, "blocking item 2");
            Assert.Equal(2L, client.GetItem(item.Id.Value).SequentialOrgId, "blocking by id");
            Assert.Equal(1, client.GetItemsBySequence(2).Count, "blocking list");
            Assert.True(client.GetItemFormData(item.Id.Value).Count > 0, "blocking form data");
            Assert.True(client.GetChainOfCustody(item.Id.Value).Count > 0, "blocking custody");
            Assert.Equal(3, client.GetLookup("genders").Count, "blocking lookup");
            Assert.True(client.GetUsersTypeahead("Reyes").Count > 0, "blocking typeahead");
            Assert.True(client.GetForms("Items")[0].Schema != null, "blocking forms");
        }
    }

    [Test]
    static async Task CasesPeopleUsersLookups()
    {
        Simulator sim = Simulator.Shared;
        using (SafeTrackerClient client = sim.Client(1))
        {
            long officer = (await client.GetUsersTypeaheadAsync("Reyes"))[0].Id;
            Case created = await client.CreateCaseAsync(new Case
            {
                CaseNumber = "CS-" + Guid.NewGuid().ToString("N").Substring(0, 8),
                CaseOfficerIds = new List<long> { officer },
                OffenseTypeId = 4,
                Active = true,
            });
            Assert.True(created.Id.HasValue, "created case has an id");
            created.OffenseDescription = "changed";
            Assert.Equal("changed", (await client.UpdateCaseAsync(created.Id.Value, created)).OffenseDescription, "case updated");
            Assert.Equal("changed", client.GetCase(created.Id.Value).OffenseDescription, "case read back");

            string email = "cs." + Guid.NewGuid().ToString("N").Substring(0, 6) + "@example.org";
            Person person = await client.CreatePersonAsync(new NewPerson
            {
                Person = new Person { FirstName = "Cee", LastName = "Sharp", RaceId = 1, GenderId = 2, Active = true, Email = email },
                Address = new Address { Line1 = "1 Main", AddressTypeId = 1 },
            });
            Assert.True(person.Id.HasValue, "created person has an id");
            Assert.Equal("Sharp", (await client.GetPersonAsync(person.Id.Value)).LastName, "person read back");
            person.Alias = "Dotnet";
            Assert.Equal("Dotnet", (await client.UpdatePersonAsync(person.Id.Value, person)).Alias, "person updated");
            Assert.True(await client.IsEmailInUseAsync(email), "email in use");
            Assert.True(!client.IsEmailInUse("nobody." + Guid.NewGuid().ToString("N") + "@example.org"), "email not in use");
            Assert.True((await client.GetPeopleTypeaheadAsync("Sharp")).Any(h => h.Id == person.Id.Value), "people typeahead");

            User user = await client.CreateUserAsync(new User
            {
                FirstName = "Ada", LastName = "Sharp", Email = "ada." + email, OrganizationId = 1, OfficeId = 101, Active = true,
            });
            Assert.True(user.Id.HasValue, "created user has an id");
            Assert.Equal("ada." + email, (await client.GetUserAsync(user.Id.Value)).Email, "user read back");
            user.MobilePhone = "555";
            Assert.Equal("555", (await client.UpdateUserAsync(user.Id.Value, user)).MobilePhone, "user updated");

            Assert.Equal(8, (await client.GetLookupAsync("races")).Count, "races");
            Assert.Equal(55, (await client.GetLookupAsync("states")).Count, "states");
            foreach (string name in new[] { "genders", "address_types", "person_types", "offense_types", "categories" })
                Assert.True((await client.GetLookupAsync(name)).Count > 0, "lookup " + name);
            Assert.True((await client.GetFormsAsync()).Count > 0, "forms (All)");

            sim.Admin("orgs/1/items/3/touch", "{}");
            SearchPage updated = await client.GetUpdatedItemsAsync(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
            Assert.True(updated.Entities.Any(i => i.SequentialOrgId == 3), "updated items include the touched one");
            SearchPage search = await client.SearchItemsAsync(new SearchRequest
            {
                StaticFields = new List<StaticField>(), OfficeIds = new long[] { 101 }, PageSize = 5, PageNumber = 1,
            });
            Assert.True(search.Entities != null && search.Entities.Count == 5, "item search: one page of 5");
        }
    }

    [Test]
    static void BadArgumentsAreTheCallersExceptions()
    {
        using (SafeTrackerClient client = Simulator.Shared.Client(1))
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => client.GetItemBySequence(-1), "negative seq");
            Assert.Throws<ArgumentNullException>(() => client.GetCaseByNumber(null), "null case number");
            Assert.Throws<ArgumentNullException>(() => client.CreateCase(null), "null case");
            Assert.Throws<ArgumentOutOfRangeException>(() => client.GetItemsAfterSequence(1, 0), "page size 0");
            Assert.Throws<ArgumentNullException>(() => new SafeTrackerClient(null), "null options");
        }
        SafeTrackerClient disposed = Simulator.Shared.Client(1);
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => disposed.GetItemBySequence(1), "a disposed client");
    }

    [Test]
    static async Task ManyCallsAtOnceOnOneClient()
    {
        using (SafeTrackerClient client = Simulator.Shared.Client(1))
        {
            Item[] items = await Task.WhenAll(Enumerable.Range(1, 20).Select(n => client.GetItemBySequenceAsync(n)));
            Assert.Sequence(Enumerable.Range(1, 20).Select(n => (long?)n), items.Select(i => i.SequentialOrgId), "20 concurrent reads");
            var errors = new List<Exception>();
            var threads = Enumerable.Range(0, 6).Select(_ => new Thread(() =>
            {
                try
                {
                    for (int n = 1; n <= 10; n++) Assert.Equal((long?)n, client.GetItemBySequence(n).SequentialOrgId, "thread read");
                }
                catch (Exception e) { lock (errors) errors.Add(e); }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Assert.Equal(0, errors.Count, "errors on threads: " + string.Join("; ", errors.Select(e => e.Message)));
        }
    }

    [Test]
    static void CancellationFromAnotherThreadReachesTheNativeCall()
    {
        Simulator sim = Simulator.Shared;
        sim.Fault("{\"kind\":\"slow_headers\",\"latency_ms\":5000,\"count\":1}");
        using (SafeTrackerClient client = sim.Client(1, o => o.MaxAttempts = 1))
        using (var cts = new CancellationTokenSource())
        {
            var started = DateTime.UtcNow;
            var canceller = new Thread(() => { Thread.Sleep(200); cts.Cancel(); });
            canceller.Start();
            var e = Assert.Throws<OperationCanceledException>(() => client.GetItemBySequence(1, cts.Token), "blocking call cancelled");
            canceller.Join();
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3), "cancelled long before the answer");
            Assert.True(e.CancellationToken == cts.Token && e.InnerException is CancelledException, "the token's, the core's Cancelled inside");
            Assert.True(client.GetItemBySequence(2) != null, "the client works after a cancelled call");
        }
        sim.Fault("{\"kind\":\"slow_headers\",\"latency_ms\":5000,\"count\":1}");
        using (SafeTrackerClient client = sim.Client(1, o => o.MaxAttempts = 1))
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            Task<Item> task = client.GetItemBySequenceAsync(1, cts.Token);
            Assert.ThrowsAsync<OperationCanceledException>(() => task, "async call cancelled");
            Assert.True(task.IsCanceled, "the task is Canceled, as .NET expects");
            Assert.Throws<OperationCanceledException>(() => client.GetItem(1, cts.Token), "an already-cancelled token: no call");
        }
    }

    [Test]
    static void FromEnvironmentWithOverrides()
    {
        Simulator sim = Simulator.Shared;
        var saved = new Dictionary<string, string>();
        string[] names = { "SAFE_BASE_URL", "SAFE_TOKEN", "SAFE_ORGANIZATION_ID", "SAFE_OFFICE_ID", "SAFE_REQUESTS_PER_SECOND" };
        foreach (string n in names) saved[n] = Environment.GetEnvironmentVariable(n);
        try
        {
            Environment.SetEnvironmentVariable("SAFE_BASE_URL", sim.BaseUrl);
            Environment.SetEnvironmentVariable("SAFE_TOKEN", "sim-token-org2");
            Environment.SetEnvironmentVariable("SAFE_ORGANIZATION_ID", "2");
            Environment.SetEnvironmentVariable("SAFE_OFFICE_ID", "201");
            Environment.SetEnvironmentVariable("SAFE_REQUESTS_PER_SECOND", "0");
            using (SafeTrackerClient client = SafeTrackerClient.FromEnvironment())
            {
                Assert.True(client.GetItemBySequence(1) != null, "organisation 2's token and ids from the environment");
                Assert.True(client.Config()["user_agent"].AsString.EndsWith("(csharp)"), "user agent names C#: " + client.Config()["user_agent"]);
                Assert.True(client.Config()["requests_per_second"].IsNull, "SAFE_REQUESTS_PER_SECOND=0: unpaced");
                Assert.True(client.ToString().Contains("OrganizationId=2") && !client.ToString().Contains("sim-token"), "ToString: ids, no token");
            }
            using (SafeTrackerClient client = SafeTrackerClient.FromEnvironment(new SafeTrackerClientOptions { MaxAttempts = 1 }))
            {
                sim.Fault("{\"kind\":\"status\",\"status\":503,\"count\":1}");
                Assert.Throws<ServerException>(() => client.GetItemBySequence(1), "the override (one attempt) applies");
            }
            Environment.SetEnvironmentVariable("SAFE_TOKEN", null);
            Assert.Throws<InvalidConfigException>(() => SafeTrackerClient.FromEnvironment(), "no SAFE_TOKEN");
        }
        finally
        {
            foreach (string n in names) Environment.SetEnvironmentVariable(n, saved[n]);
        }
    }

    [Test]
    static void OptionsNeverShowTheToken()
    {
        var o = Simulator.Shared.Options(1);
        Assert.True(!o.ToString().Contains("sim-token") && o.ToString().Contains("***"), "options ToString: " + o);
    }
}
