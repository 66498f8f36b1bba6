// tests/conformance/vectors.json (the one file every language reads) through the C# models:
// wire models round trip, dates, form data, record keys, events, case officer ids, and the
// validation vectors through the client (refused before any request, naming the field).
using System;
using System.Collections.Generic;
using System.Linq;
using SafeTracker;

static class ConformanceTests
{
    /// <summary>The value without its null members (absent and null read the same).</summary>
    static JsonValue StripNulls(JsonValue v)
    {
        if (v.Kind == JsonKind.Array) return JsonValue.FromArray(v.AsArray.Select(StripNulls));
        if (v.Kind != JsonKind.Object) return v;
        var o = new JsonObject();
        foreach (var kv in v.AsObject) if (!kv.Value.IsNull) o.Add(kv.Key, StripNulls(kv.Value));
        return JsonValue.FromObject(o);
    }

    static readonly Dictionary<string, Func<JsonValue, IWireModel>> Models = new Dictionary<string, Func<JsonValue, IWireModel>>
    {
        { "item", v => Item.FromJson(v) }, { "case", v => Case.FromJson(v) }, { "new_person", v => NewPerson.FromJson(v) },
        { "user", v => User.FromJson(v) }, { "form_data_entry", v => FormDataEntry.FromJson(v) }, { "person", v => Person.FromJson(v) },
        { "custody_entry", v => CustodyEntry.FromJson(v) }, { "lookup_entry", v => LookupEntry.FromJson(v) },
        { "form", v => Form.FromJson(v) }, { "typeahead_entry", v => TypeaheadEntry.FromJson(v) },
    };

    [Test]
    static void ModelsRoundTrip()
    {
        JsonObject models = Paths.Vectors()["models"].AsObject;
        Assert.Sequence(models.Keys.OrderBy(k => k), Models.Keys.OrderBy(k => k), "every model of the vectors has its class here");
        int n = 0;
        foreach (var kv in models)
        {
            foreach (JsonValue wire in kv.Value.AsArray)
            {
                IWireModel model = Models[kv.Key](wire);
                Assert.True(StripNulls(model.ToJson()).Equals(StripNulls(wire)), kv.Key + " round trip: " + model.ToJson());
                Assert.True(Models[kv.Key](model.ToJson()).ToJson().Equals(model.ToJson()), kv.Key + ": read back the same");
                n++;
            }
        }
        Item legacy = Item.FromJson(models["item"].AsArray[1]);
        Assert.True(legacy.Extra["someFutureField"].Equals(JsonValue.Parse("{\"nested\":[1,2,{\"x\":\"y\"}]}")), "an unknown field is kept");
        Assert.Equal((long?)40211, legacy.PrimaryCaseOfficerId, "a legacy field");
        Assert.True(n >= 10, "vectors read: " + n);
        foreach (JsonValue c in Paths.Vectors()["case_officer_ids"].AsArray)
        {
            JsonObject o = c.AsObject;
            JsonValue wire = models[o["model"].AsString].AsArray[(int)o["index"].ToInt64()];
            IReadOnlyList<long> ids = o["model"].AsString == "case" ? Case.FromJson(wire).GetOfficerIds() : Item.FromJson(wire).GetPrimaryCaseOfficerIds();
            Assert.Sequence(o["ids"].AsArray.Select(i => i.ToInt64()), ids, "case officer ids of " + o["model"].AsString + " " + o["index"]);
        }
    }

    [Test]
    static void DatesAndFormData()
    {
        foreach (JsonValue c in Paths.Vectors()["dates"].AsArray)
        {
            JsonObject o = c.AsObject;
            SafeDateTime d = SafeDateTime.Parse(o["raw"].AsString);
            Assert.Equal(o["raw"].AsString, d.Raw, "the raw text is kept");
            if (o["utc"].IsNull) Assert.True(d.Value == null, o["raw"].AsString + " does not parse");
            else Assert.Equal(DateTimeOffset.Parse(o["utc"].AsString), d.Value.Value, o["raw"].AsString + " as UTC");
        }
        foreach (JsonValue c in Paths.Vectors()["form_data"].AsArray)
        {
            JsonObject o = c.AsObject;
            var wire = new JsonObject();
            wire.Add("formId", JsonValue.FromInt64(1));
            wire.Add("data", o["data"]);
            FormDataEntry e = FormDataEntry.FromJson(JsonValue.FromObject(wire));
            Assert.Equal(o["data"].AsString, e.Data.Raw, "raw form data kept byte for byte");
            JsonValue error;
            if (o.TryGetValue("error", out error) && !error.IsNull)
                Assert.True(e.Data.Fields == null && e.Data.Error != null, "undecodable form data is kept with the reason");
            else
                Assert.True(JsonValue.FromObject(ToObject(e.Data.Fields)).Equals(o["fields"]) && e.Data.Error == null, "decoded fields");
            Assert.Equal(o["data"].AsString, e.ToJson().AsObject["data"].AsString, "written back as it came");
        }
    }

    static JsonObject ToObject(IReadOnlyDictionary<string, JsonValue> d)
    {
        var o = new JsonObject();
        foreach (var kv in d) o.Add(kv.Key, kv.Value);
        return o;
    }

    [Test]
    static void RecordKeysAndEvents()
    {
        JsonObject v = Paths.Vectors();
        foreach (JsonValue c in v["record_keys"].AsObject["cases"].AsArray)
        {
            JsonObject o = c.AsObject;
            var wire = new JsonObject();
            wire.Add("key", o["key"]);
            wire.Add("organization_id", o["organization_id"]);
            wire.Add("sequential_org_id", o["seq"]);
            wire.Add("item", o["item"]);
            wire.Add("late", JsonValue.False);
            ItemRecord r = ItemRecord.FromJson(JsonValue.FromObject(wire));
            Assert.True(r.Key.ToJson().Equals(o["key"]), "the record's key: " + r.Key.ToJson());
            Assert.Equal(r.Item.Id, r.Key.ItemId, "item id, or none for an item without one");
            Assert.True(r.Key.ItemId.HasValue != r.Key.SequentialOrgId.HasValue, "either the item id or the number");
        }
        foreach (JsonValue c in v["events"].AsObject["cases"].AsArray)
        {
            PollerEvent e = PollerEvent.FromJson(c);
            Assert.True(e.ToJson().Equals(c) && e.Event == c.AsObject["event"].AsString, "event " + c);
        }
    }

    [Test]
    static void ValidationVectorsAreRefusedBeforeAnyRequest()
    {
        Simulator sim = Simulator.Shared;
        using (SafeTrackerClient client = sim.Client(1))
        {
            int n = 0;
            foreach (JsonValue c in Paths.Vectors()["validation"].AsArray)
            {
                JsonObject o = c.AsObject;
                JsonValue body = o["body"];
                string model = o["model"].AsString;
                Action create = model == "case" ? (Action)(() => client.CreateCase(Case.FromJson(body)))
                    : model == "new_person" ? (Action)(() => client.CreatePerson(NewPerson.FromJson(body)))
                    : () => client.CreateUser(User.FromJson(body));
                var e = Assert.Throws<ValidationException>(create, model + " " + body);
                Assert.Equal(o["field"].AsString, e.Field, "the field at fault of " + body);
                n++;
            }
            Assert.True(n >= 10, "vectors: " + n);
            Assert.True(sim.Count("/api/cases") == 0 && sim.Count("/api/people") == 0 && sim.Count("/api/users") == 0, "nothing sent");
        }
    }
}
