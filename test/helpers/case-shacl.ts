/**
 * SHACL validation of CASE/UCO JSON-LD against the CASE 1.4.0 and UCO 1.4.0
 * ontologies kept beside the repository (../shared/ontologies/case-uco-1.4.0,
 * or CUSTODY_CASE_ONTOLOGIES). Set up as that folder's README says: every
 * .ttl is loaded as the shapes graph and added to the data graph (so class
 * hierarchies resolve), owl:imports resolve to nothing (all is loaded), and the
 * sh:sparql constraints are dropped, because rdf-validate-shacl implements
 * SHACL Core only. The PASS/XFAIL examples shipped there check this set-up.
 */
import fs from 'node:fs';
import path from 'node:path';
import jsonld from 'jsonld';
import { Parser, Store, DataFactory, type Quad } from 'n3';
import SHACLValidator from 'rdf-validate-shacl';
import { ROOT } from './cli.js';

export const ONTOLOGIES = process.env.CUSTODY_CASE_ONTOLOGIES ?? path.resolve(ROOT, '..', 'shared', 'ontologies', 'case-uco-1.4.0');

export function haveOntologies(): boolean {
  return fs.existsSync(path.join(ONTOLOGIES, 'uco', 'uco', 'core', 'core.ttl'));
}

const SH_SPARQL = 'http://www.w3.org/ns/shacl#sparql';

function ttlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ttl') && !d.name.endsWith('_validation.ttl'))
    .map((d) => path.join(d.parentPath, d.name))
    .sort();
}

let ontology: Quad[] | undefined;

function ontologyQuads(): Quad[] {
  if (ontology) return ontology;
  const quads: Quad[] = [];
  for (const f of ttlFiles(path.join(ONTOLOGIES, 'uco')).concat(ttlFiles(path.join(ONTOLOGIES, 'case')))) {
    for (const q of new Parser({ baseIRI: `file://${f}` }).parse(fs.readFileSync(f, 'utf8'))) {
      if (q.predicate.value !== SH_SPARQL) quads.push(q);
    }
  }
  ontology = quads;
  return quads;
}

export interface ShaclResult {
  conforms: boolean;
  violations: { focus: string; path: string; message: string; constraint: string }[];
}

// No network: every context in our documents is inline.
const offlineLoader = async (url: string): Promise<never> => {
  throw new Error(`refusing to fetch ${url} while validating`);
};

export async function validateCaseJsonLd(doc: unknown): Promise<ShaclResult> {
  const nquads = (await jsonld.toRDF(doc as jsonld.JsonLdDocument, { format: 'application/n-quads', documentLoader: offlineLoader as never })) as unknown as string;
  const data = new Store(ontologyQuads());
  data.addQuads(new Parser({ format: 'N-Quads' }).parse(nquads).map((q) => DataFactory.quad(q.subject, q.predicate, q.object)));
  const shapes = new Store(ontologyQuads());
  const validator = new SHACLValidator(shapes, { importGraph: async () => new Store() } as never);
  const report = await validator.validate(data);
  return {
    conforms: report.conforms,
    violations: report.results.map((r) => ({
      focus: r.focusNode?.value ?? '',
      path: r.path?.value ?? '',
      message: r.message.map((m) => m.value).join('; '),
      constraint: r.sourceConstraintComponent?.value ?? '',
    })),
  };
}
