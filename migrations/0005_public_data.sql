CREATE TABLE "exclusion_datasets" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"data_as_of" date NOT NULL,
	"entries" integer NOT NULL,
	"loaded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "exclusion_datasets_source" CHECK ("exclusion_datasets"."source" in ('oig_leie', 'sam')),
	CONSTRAINT "exclusion_datasets_entries" CHECK ("exclusion_datasets"."entries" >= 0)
);
--> statement-breakpoint
CREATE TABLE "exclusion_entries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"natural_key" text NOT NULL,
	"last_name" text,
	"first_name" text,
	"middle_name" text,
	"business_name" text,
	"last_name_key" text,
	"business_name_key" text,
	"npi" text,
	"general_category" text,
	"specialty" text,
	"exclusion_type" text,
	"exclusion_date" date,
	"reinstatement_date" date,
	"waiver_date" date,
	"waiver_state" text,
	"address" text,
	"city" text,
	"state" text,
	"zip" text,
	"last_seen_at" timestamp with time zone NOT NULL,
	"removed_at" timestamp with time zone,
	"loaded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "exclusion_entries_source" CHECK ("exclusion_entries"."source" in ('oig_leie', 'sam')),
	CONSTRAINT "exclusion_entries_npi_digits" CHECK ("exclusion_entries"."npi" ~ '^[0-9]{10}$')
);
--> statement-breakpoint
CREATE TABLE "fmcsa_carriers" (
	"usdot_number" text PRIMARY KEY NOT NULL,
	"legal_name" text NOT NULL,
	"dba_name" text,
	"carrier_operation" text,
	"hm_flag" boolean,
	"pc_flag" boolean,
	"phy_street" text,
	"phy_city" text,
	"phy_state" text,
	"phy_zip" text,
	"phy_country" text,
	"mailing_street" text,
	"mailing_city" text,
	"mailing_state" text,
	"mailing_zip" text,
	"mailing_country" text,
	"telephone" text,
	"fax" text,
	"email_address" text,
	"mcs150_date" date,
	"mcs150_mileage" bigint,
	"mcs150_mileage_year" integer,
	"add_date" date,
	"oic_state" text,
	"nbr_power_unit" integer,
	"driver_total" integer,
	"source_updated_at" timestamp with time zone,
	"imported_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "fmcsa_carriers_usdot_digits" CHECK ("fmcsa_carriers"."usdot_number" ~ '^[1-9][0-9]{0,7}$'),
	CONSTRAINT "fmcsa_carriers_counts" CHECK (coalesce("fmcsa_carriers"."nbr_power_unit", 0) >= 0 and coalesce("fmcsa_carriers"."driver_total", 0) >= 0),
	CONSTRAINT "fmcsa_carriers_operation" CHECK ("fmcsa_carriers"."carrier_operation" in ('A', 'B', 'C'))
);
--> statement-breakpoint
CREATE INDEX "exclusion_datasets_source_loaded" ON "exclusion_datasets" USING btree ("source","loaded_at");--> statement-breakpoint
CREATE UNIQUE INDEX "exclusion_entries_natural_key" ON "exclusion_entries" USING btree ("source","natural_key");--> statement-breakpoint
CREATE INDEX "exclusion_entries_npi" ON "exclusion_entries" USING btree ("npi") WHERE "exclusion_entries"."npi" is not null;--> statement-breakpoint
CREATE INDEX "exclusion_entries_last_name_key" ON "exclusion_entries" USING btree ("last_name_key") WHERE "exclusion_entries"."last_name_key" is not null;--> statement-breakpoint
CREATE INDEX "exclusion_entries_business_name_key" ON "exclusion_entries" USING btree ("business_name_key") WHERE "exclusion_entries"."business_name_key" is not null;