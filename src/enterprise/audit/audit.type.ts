import { GraphQLJSONObject } from "graphql-scalars";
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { PageInfo } from "../../modules/common/connection.js";

export enum AuditCategoryEnum {
  AUTHENTICATION = "authentication", AUTHORIZATION = "authorization", DATA_ACCESS = "data_access", DATA_CHANGE = "data_change",
  CONFIGURATION = "configuration", ADMIN = "admin", API = "api", SECURITY = "security",
}
registerEnumType(AuditCategoryEnum, { name: "AuditCategory" });
export enum AuditSeverityEnum { INFO = "info", WARNING = "warning", CRITICAL = "critical" }
registerEnumType(AuditSeverityEnum, { name: "AuditSeverity" });
export enum AuditResultEnum { SUCCESS = "success", FAILURE = "failure", DENIED = "denied" }
registerEnumType(AuditResultEnum, { name: "AuditResult" });
export enum ReadAuditModeEnum { OFF = "off", SENSITIVE = "sensitive", ALL = "all" }
registerEnumType(ReadAuditModeEnum, { name: "ReadAuditMode", description: "Which query results are recorded as data.read events." });
export enum ComplianceFrameworkEnum { SOC2 = "SOC2", HIPAA = "HIPAA", GDPR = "GDPR", PCI_DSS = "PCI_DSS", CCPA = "CCPA", ISO27001 = "ISO27001", FEDRAMP = "FEDRAMP" }
registerEnumType(ComplianceFrameworkEnum, { name: "ComplianceFramework" });

@ObjectType({ description: "Who acted: a user, an API key (with the user who created it), the system, or an anonymous caller." })
export class AuditActor {
  @Field(() => String, { description: "user, api_key, system or anonymous" }) type!: string;
  @Field(() => ID, { nullable: true }) userId!: string | null;
  @Field(() => ID, { nullable: true }) apiKeyId!: string | null;
  @Field(() => String, { nullable: true }) ip!: string | null;
  @Field(() => String, { nullable: true }) userAgent!: string | null;
  @Field(() => ID, { nullable: true }) sessionId!: string | null;
  @Field(() => String, { nullable: true }) requestId!: string | null;
}

@ObjectType({ description: "One hash-chained, append-only audit record." })
export class AuditEvent {
  @Field(() => ID) id!: string;
  @Field(() => Float, { description: "Position in the organization's chain (1, 2, 3, …)." }) sequence!: number;
  @Field(() => Date) occurredAt!: Date;
  @Field(() => String) eventType!: string;
  @Field(() => AuditCategoryEnum) category!: AuditCategoryEnum;
  @Field(() => AuditSeverityEnum) severity!: AuditSeverityEnum;
  @Field(() => AuditActor) actor!: AuditActor;
  @Field(() => String, { nullable: true }) resourceType!: string | null;
  @Field(() => String, { nullable: true }) resourceId!: string | null;
  @Field(() => AuditResultEnum) result!: AuditResultEnum;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => GraphQLJSONObject, { nullable: true, description: "Changed fields: { field: { before, after } }, secrets and PII fields redacted." })
  changes!: Record<string, unknown> | null;
  @Field(() => GraphQLJSONObject, { nullable: true }) metadata!: Record<string, unknown> | null;
  @Field(() => String, { description: "SHA-256 of the previous hash and this event's canonical content." }) hash!: string;
  @Field(() => String) prevHash!: string;
}

@ObjectType("AuditEventEdge")
export class AuditEventEdge {
  @Field(() => String) cursor!: string;
  @Field(() => AuditEvent) node!: AuditEvent;
}

@ObjectType("AuditEventConnection")
export class AuditEventConnection {
  @Field(() => [AuditEventEdge]) edges!: AuditEventEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int, { description: "Total matching events (costs one extra query)." }) totalCount!: number;
}

@InputType()
export class AuditEventFilter {
  @Field(() => Date, { nullable: true, description: "Inclusive lower bound." }) from?: Date | null;
  @Field(() => Date, { nullable: true, description: "Exclusive upper bound." }) to?: Date | null;
  @Field(() => ID, { nullable: true }) actorId?: string | null;
  @Field(() => [String], { nullable: true }) eventTypes?: string[] | null;
  @Field(() => [AuditCategoryEnum], { nullable: true }) categories?: AuditCategoryEnum[] | null;
  @Field(() => [AuditSeverityEnum], { nullable: true }) severities?: AuditSeverityEnum[] | null;
  @Field(() => [AuditResultEnum], { nullable: true }) results?: AuditResultEnum[] | null;
  @Field(() => String, { nullable: true }) resourceType?: string | null;
  @Field(() => String, { nullable: true }) resourceId?: string | null;
  @Field(() => String, { nullable: true, description: "Words matched in event type, resource, reason, request id and IP." }) search?: string | null;
}

@ObjectType()
export class AuditGap {
  @Field(() => Float) from!: number;
  @Field(() => Float) to!: number;
}

@ObjectType()
export class AuditProblem {
  @Field(() => Float) seq!: number;
  @Field(() => String, { description: "gap, broken_link, hash_mismatch, tail_truncated, checkpoint_mismatch or checkpoint_signature" }) kind!: string;
  @Field(() => String) message!: string;
}

@ObjectType({ description: "The result of walking an audit chain." })
export class AuditVerification {
  @Field(() => String) chain!: string;
  @Field(() => Boolean) ok!: boolean;
  @Field(() => Int) eventsChecked!: number;
  @Field(() => Float, { nullable: true }) firstSeq!: number | null;
  @Field(() => Float, { nullable: true }) lastSeq!: number | null;
  @Field(() => Float) headSeq!: number;
  @Field(() => Int) checkpointsChecked!: number;
  @Field(() => Float, { nullable: true, description: "The first sequence number at which the chain is broken; null when intact." }) firstBrokenSeq!: number | null;
  @Field(() => [AuditGap]) gaps!: AuditGap[];
  @Field(() => [AuditProblem]) problems!: AuditProblem[];
}

@ObjectType()
export class AuditSettingsType {
  @Field(() => ReadAuditModeEnum) readAudit!: ReadAuditModeEnum;
  @Field(() => [String], { description: "GraphQL types recorded when readAudit is SENSITIVE." }) sensitiveTypes!: string[];
  @Field(() => [String], { description: "Field names redacted from before/after values and metadata." }) piiFields!: string[];
  @Field(() => [ComplianceFrameworkEnum]) frameworks!: ComplianceFrameworkEnum[];
  @Field(() => Int, { nullable: true, description: "Explicit retention; null: derived from the frameworks." }) retentionDays!: number | null;
  @Field(() => Int) effectiveRetentionDays!: number;
}

@InputType()
export class UpdateAuditSettingsInput {
  @Field(() => ReadAuditModeEnum, { nullable: true }) readAudit?: ReadAuditModeEnum | null;
  @Field(() => [String], { nullable: true }) sensitiveTypes?: string[] | null;
  @Field(() => [String], { nullable: true }) piiFields?: string[] | null;
  @Field(() => [ComplianceFrameworkEnum], { nullable: true }) frameworks?: ComplianceFrameworkEnum[] | null;
  @Field(() => Int, { nullable: true, description: "Days to keep events; 0 clears it (retention then follows the frameworks)." }) retentionDays?: number | null;
}

@ObjectType()
export class AuditEventTypeInfo {
  @Field(() => String) name!: string;
  @Field(() => AuditCategoryEnum) category!: AuditCategoryEnum;
  @Field(() => AuditSeverityEnum) severity!: AuditSeverityEnum;
  @Field(() => String) description!: string;
}
