// Hand-written parts of generated models (Generated/Models.g.cs): what the core's models offer
// beyond their fields.
using System.Collections.Generic;

namespace SafeTracker
{
    public sealed partial class Case
    {
        /// <summary>The case's officers in either form SAFE sends: <see cref="CaseOfficerIds"/>
        /// when it has any, else the single <see cref="CaseOfficerId"/> (empty when neither).</summary>
        public IReadOnlyList<long> GetOfficerIds()
        {
            if (CaseOfficerIds != null && CaseOfficerIds.Count > 0) return CaseOfficerIds;
            return CaseOfficerId.HasValue ? new[] { CaseOfficerId.Value } : new long[0];
        }
    }

    public sealed partial class Item
    {
        /// <summary>The primary case's officers in either form: <see cref="PrimaryCaseOfficerIds"/>
        /// when it has any, else the single <see cref="PrimaryCaseOfficerId"/>.</summary>
        public IReadOnlyList<long> GetPrimaryCaseOfficerIds()
        {
            if (PrimaryCaseOfficerIds != null && PrimaryCaseOfficerIds.Count > 0) return PrimaryCaseOfficerIds;
            return PrimaryCaseOfficerId.HasValue ? new[] { PrimaryCaseOfficerId.Value } : new long[0];
        }
    }
}
