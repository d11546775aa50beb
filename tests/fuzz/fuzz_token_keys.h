/* The fuzz key set, written by gen_corpus_token.py (with the seeds it signed): the JWKS
 * the token harness verifies against, the private keys of rsa1 and ec1 it signs with and
 * ec2's public key (its private key was thrown away). For fuzzing only: nothing may trust
 * what they sign. */
#pragma once

#define FUZZ_NOW ((time_t)1795428000)

static const char fuzz_jwks[] =
	"{\n"
	" \"keys\": [\n"
	"  {\n"
	"   \"kty\": \"RSA\",\n"
	"   \"kid\": \"rsa1\",\n"
	"   \"alg\": \"RS256\",\n"
	"   \"use\": \"sig\",\n"
	"   \"n\": \"jnusN2zXz1mPx6pTbi5D1YFqsuXU0rw0W5EPJIJT5j5sIqqeGAMwDlVnrp0GNDiL7Etn7Wjk1kH29kmmhxrsUuvVbVgFXiNbwAbcYsKYu_6f3sSeYNS2CNCWYzLdWcNIvf2RAl6FiAqIpVHG-1YtCehTZMv7GOh_HxJIKTGzNb3G_iEYvtzMhKkvK9A76WlX2PHbSxvJkAx31-uZ0GSYa-8msWWH8G-GU1ksAGogxfUP5dwhqaXxdy9wV4SXdnnFIq8n-WvvX98-xORUZ5GZwDFUrZgr416zpGUXJw20N5HTnujXHwDKxN8z-LNe68dM5HUYV6pm5EuiHsrvhnWSvw\",\n"
	"   \"e\": \"AQAB\"\n"
	"  },\n"
	"  {\n"
	"   \"kty\": \"EC\",\n"
	"   \"crv\": \"P-256\",\n"
	"   \"kid\": \"ec1\",\n"
	"   \"x\": \"-0M1QBOHb4mqcXOiAeDhnx8j3ielh1bVVrjV7knBAJw\",\n"
	"   \"y\": \"vdDrmvBUwgSMt9ChU6TZD-I248OV6OWTgarTXFBSgNA\",\n"
	"   \"alg\": \"ES256\"\n"
	"  },\n"
	"  {\n"
	"   \"kty\": \"EC\",\n"
	"   \"crv\": \"P-256\",\n"
	"   \"kid\": \"ec2\",\n"
	"   \"x\": \"NyIOEWeKAyRh8dG18wx-NUTcD97sfF4euhnpT_XhsF0\",\n"
	"   \"y\": \"ltfjtOiFngiaWMLEn6MFYBYHBU2pf_5YkC-wGVnu-hk\"\n"
	"  }\n"
	" ]\n"
	"}\n";

static const char fuzz_rsa1_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCOe6w3bNfPWY/H\n"
	"qlNuLkPVgWqy5dTSvDRbkQ8kglPmPmwiqp4YAzAOVWeunQY0OIvsS2ftaOTWQfb2\n"
	"SaaHGuxS69VtWAVeI1vABtxiwpi7/p/exJ5g1LYI0JZjMt1Zw0i9/ZECXoWICoil\n"
	"Ucb7Vi0J6FNky/sY6H8fEkgpMbM1vcb+IRi+3MyEqS8r0DvpaVfY8dtLG8mQDHfX\n"
	"65nQZJhr7yaxZYfwb4ZTWSwAaiDF9Q/l3CGppfF3L3BXhJd2ecUiryf5a+9f3z7E\n"
	"5FRnkZnAMVStmCvjXrOkZRcnDbQ3kdOe6NcfAMrE3zP4s17rx0zkdRhXqmbkS6Ie\n"
	"yu+GdZK/AgMBAAECggEAM071xT+8tz5ZOF1tjc+7PbdM5P8+lGSRtieWfF8yN0dj\n"
	"SViHdb4wH/lBTO/evA9g08aTtjp/rWgztpzvCtf3IiUqxiVcSXoSICRYWHga6BfZ\n"
	"Gi9TmSsAIkx6214Ft71LBJ+7CE9hZovkiSPZs8hkj5zJ6xJJab7PiDDdK3hqQH98\n"
	"32KC5z9US0/M1O1IOm/odkFcKAIUbPR0N9EdIVr9iZKqND/O4FER8vOLJIBxv4lL\n"
	"RJc24EadBc+jw+jM3YQf5kwCraHt7l8IxX8rAIIMuZRHBvmrrT4DnNe7TAbtikI9\n"
	"9StHXMhCPPCyqw73OhEGe8Gi7/3Wta5q2Rcm0cBfgQKBgQDI2yzDPmRE0JKWyBvU\n"
	"gLonDaxJZ1wFWFRUV5ql9GdiAd5XI1hwZvF4DxU9v+0sHlQZlaaujpGZM6oT3ccw\n"
	"DBiMO0GBOrdAeySgnNsSUgj18hZgcUFNVr0/CfCih9KF8eyTcQuR855b505X5Liq\n"
	"DD+ewbpJmRQJW2eN/OLB/Mf01QKBgQC1mdloUF7kRMrVxzfRt5DJSStWFWf78M+O\n"
	"dEhk/kQJabdjAVwHDC7jWphNGgF8ubuStpT02M6abbtoaaLXSvRtugAJviKYJ2ie\n"
	"zS2zP5EsngS7XBfWqgfYoRnE8G7MMrrbQsPLarzeO/NFpezMCDoX3kJfINBC8ST7\n"
	"7R+LVjoDQwKBgHZftaHbw3xK8BmtFbnHo+4gQMmCANmllQ2gE6R6xfMc5sy0KAsW\n"
	"oHkBaqNZ2Y2G0knByNpXa7e+mx3aNuo6Nr1ursxarmVyLcP6raG+d0l7w3RTSwkp\n"
	"dZ8RXKBtK8WFLsg2d3ss+MdxKtriEXMmhNgrlH6LmSNqmz0zLPDm6XGBAoGBAJqX\n"
	"o7nnYUBVR46BDwWajMitXxTjGCgjMa2FU/OVeHnC4viHOb5OIsQsZSaNkuKIgiM9\n"
	"BsUAo7BW5YjXFGbOShH2mv2wPGbmdWtqIxNKc91Vj5Wnqit1h0RksDk0rD1smiD5\n"
	"TxAlhy5wPoH15AU0o6+Z50pv9ppmCiPkEkxdVPldAoGARXPolInVtFoN6MhXGHKc\n"
	"WvQApkyMhOLgoTWyedngqtx+MrJpMSBWtZuYIKcFKBT0Z1sYpo9GptzJKwf7ZGSV\n"
	"9xM0XesKLpEm6DJQO8KHlGWLmkDoNNs3Nz7d94Tg4o5n1L2pKZZg6M5S3KKtgOcA\n"
	"n9S7aclg71c6ofue7OcuRFA=\n"
	"-----END PRIVATE KEY-----\n";

static const char fuzz_ec1_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgvfRlqm+a5SsvzV5H\n"
	"wfS51msUWViilGYUSB9lO7q/5T2hRANCAAT7QzVAE4dviapxc6IB4OGfHyPeJ6WH\n"
	"VtVWuNXuScEAnL3Q65rwVMIEjLfQoVOk2Q/iNuPDlejlk4Gq01xQUoDQ\n"
	"-----END PRIVATE KEY-----\n";

static const char fuzz_ec2_public_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENyIOEWeKAyRh8dG18wx+NUTcD97s\n"
	"fF4euhnpT/XhsF2W1+O06IWeCJpYwsSfowVgFgcFTal//liQL7AZWe76GQ==\n"
	"-----END PUBLIC KEY-----\n";
